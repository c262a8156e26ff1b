"""The torch dialect: pure arithmetic against the documented formulas and docs/semantics.md, then torch itself.

Expected values come from torch's docs, from docs/semantics.md ('SAME conventions' rows copied as data) or
from running torch; never from the dialect's own code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import oracles
from oracles.dialects.base import NotExpressible, Rejected
from oracles.dialects.torch import DIALECT, TorchDialect
from oracles.geometry import Geometry

FAST = settings(max_examples=60, deadline=None)

# docs/semantics.md, 'SAME conventions', reference rows: (i, k, s), the TF = JAX = Keras crops, and the torch (p, op) column.
SECTION_3 = [
    ((3, 3, 1), (1, 1), "p=1"),
    ((3, 2, 1), (0, 1), "not expressible"),
    ((3, 3, 2), (0, 1), "not expressible"),
    ((3, 4, 1), (1, 2), "not expressible"),
    ((3, 1, 2), (0, -1), "p=0, op=1"),
    ((3, 1, 3), (0, -2), "p=0, op=2"),
]


def parse_torch_cell(cell: str):
    """``"p=0, op=1"`` -> ``(0, 1)``; ``"p=1"`` -> ``(1, 0)``; ``"not expressible"`` -> None."""
    if cell == "not expressible":
        return None
    fields = dict(part.strip().split("=") for part in cell.split(","))
    return int(fields["p"]), int(fields.get("op", 0))


def geometry_1d(i, k, s, d, cb, ca) -> Geometry:
    return Geometry((i,), (k,), (s,), (d,), (cb,), (ca,))


# ---- strategies: valid by construction ------------------------------------------------------------

@st.composite
def expressible_dim(draw):
    """One dim torch can express: ``cb >= 0``, ``0 <= op < max(s, d)``, output length >= 1."""
    i, k = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    op = draw(st.integers(0, max(s, d) - 1))
    full = (i - 1) * s + d * (k - 1) + 1
    cb = draw(st.integers(0, (full + op - 1) // 2))  # o = L - 2cb + op >= 1
    return i, k, s, d, cb, cb - op


@st.composite
def any_dim(draw):
    """One dim with arbitrary (possibly negative) crops and output length >= 1."""
    i, k = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    full = (i - 1) * s + d * (k - 1) + 1
    cb = draw(st.integers(-3, full - 1))
    ca = draw(st.integers(-4, full - 1 - cb))
    return i, k, s, d, cb, ca


def stack(dims) -> Geometry:
    return Geometry(*(tuple(dim[n] for dim in dims) for n in range(6)))


expressible_geometries = st.lists(expressible_dim(), min_size=1, max_size=3).map(stack)
any_geometries = st.lists(any_dim(), min_size=1, max_size=3).map(stack)


# ---- formulas --------------------------------------------------------------------------------------

@FAST
@given(expressible_geometries)
def test_functional_output_size_is_the_documented_formula(geometry):
    native = dict(stride=geometry.stride, padding=geometry.crop_before, dilation=geometry.dilation,
                  output_padding=tuple(cb - ca for cb, ca in zip(geometry.crop_before, geometry.crop_after)))
    # torch docs: H_out = (H_in - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1
    expected = tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, d, p, op in zip(
        geometry.input_size, geometry.kernel_size, native["stride"], native["dilation"], native["padding"],
        native["output_padding"]))
    assert DIALECT.output_size(geometry.input_size, geometry.kernel_size, **native) == expected
    g = DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, **native)
    assert g.crop_before == native["padding"]
    assert g.crop_after == tuple(p - op for p, op in zip(native["padding"], native["output_padding"]))


@FAST
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.data())
def test_module_output_size_sets_the_end_crop(i, k, s, d, p, data):
    low = (i - 1) * s - 2 * p + d * (k - 1) + 1  # torch/nn/modules/conv.py min_sizes
    if low + s - 1 < 1:
        return
    o = data.draw(st.integers(max(1, low), low + s - 1))
    g = DIALECT.to_canonical(i, k, stride=s, dilation=d, padding=p, output_size=(o,), output_padding=99)
    full = (i - 1) * s + d * (k - 1) + 1
    assert g.output_size == (o,)
    assert (g.crop_before, g.crop_after) == ((p,), (full - p - o,))  # docs/semantics.md, 'PyTorch': ca = L - p - o


# ---- round trips and expressibility ----------------------------------------------------------------

@FAST
@given(expressible_geometries)
def test_round_trip(geometry):
    native = DIALECT.from_canonical(geometry)
    assert DIALECT.to_canonical(geometry.input_size, geometry.kernel_size, **native) == geometry


@FAST
@given(any_geometries)
def test_not_expressible_exactly_where_torch_cannot(geometry):
    cannot = any(cb < 0 or cb < ca or cb - ca >= max(s, d) for cb, ca, s, d in zip(
        geometry.crop_before, geometry.crop_after, geometry.stride, geometry.dilation))
    if cannot:
        with pytest.raises(NotExpressible):
            DIALECT.from_canonical(geometry)
    else:
        DIALECT.from_canonical(geometry)


def test_crop_before_less_than_crop_after_is_not_expressible():
    with pytest.raises(NotExpressible, match="crop_before=0 < crop_after=1"):
        DIALECT.from_canonical(geometry_1d(3, 2, 1, 1, 0, 1))


@pytest.mark.parametrize("row", SECTION_3, ids=lambda row: str(row[0]))
def test_section_3_torch_column(row):
    (i, k, s), (cb, ca), cell = row
    expected = parse_torch_cell(cell)
    geometry = geometry_1d(i, k, s, 1, cb, ca)
    if expected is None:
        with pytest.raises(NotExpressible):
            DIALECT.from_canonical(geometry)
    else:
        native = DIALECT.from_canonical(geometry)
        assert (native["padding"], native["output_padding"]) == ((expected[0],), (expected[1],))


# ---- emulation: torch parameters plus a slice ------------------------------------------------------

@FAST
@given(any_geometries, st.integers(0, 2**32 - 1))
def test_emulation_with_the_oracle(geometry, seed):
    cannot = any(cb < 0 or -ca >= max(s, d) for cb, ca, s, d in zip(
        geometry.crop_before, geometry.crop_after, geometry.stride, geometry.dilation))
    if cannot:
        with pytest.raises(NotExpressible):
            DIALECT.emulation(geometry)
        return
    native, slices = DIALECT.emulation(geometry)
    x, w = random_operands(np.random.default_rng(seed), geometry, groups=1)
    emulated = oracles.conv_transpose(x, w, **native)[(Ellipsis, *slices)]
    expected = oracles.conv_transpose(x, w, stride=geometry.stride, dilation=geometry.dilation,
                                      padding=geometry.padding())
    np.testing.assert_array_equal(emulated, expected)


def test_emulation_of_tf_same_is_p0_op0_and_a_slice():
    native, slices = DIALECT.emulation(geometry_1d(3, 2, 1, 1, 0, 1))
    assert (native["padding"], native["output_padding"]) == ((0,), (0,))
    assert slices == (slice(0, 3),)


# ---- the rules torch enforces ------------------------------------------------------------------------

@pytest.mark.parametrize("native, message", [
    (dict(padding=-1), "negative padding"),
    (dict(output_padding=-1), "negative output_padding"),
    (dict(stride=2, output_padding=2), "smaller than either stride or dilation"),
    (dict(stride=1, dilation=2, output_padding=2), "smaller than either stride or dilation"),
    (dict(padding=3), "Output size is too small"),
    (dict(stride=0), "non-positive stride"),
    (dict(dilation=0), "dilation should be greater than zero"),
    (dict(padding="same"), "must be tuple of ints"),
    # module: min 9, max 10 for i=3, k=3, s=2, p=1, d=3; dilation would allow op=2 but the module does not
    (dict(stride=2, padding=1, dilation=3, output_size=(11,)), "valid sizes range from \\[9\\] to \\[10\\]"),
])
def test_rejected(native, message):
    with pytest.raises(Rejected, match=message):
        DIALECT.to_canonical(3, 3, **native)


@pytest.mark.parametrize("native, length", [
    (dict(stride=1, dilation=2, output_padding=1), 8),  # op < dilation is enough (onnxruntime rejects it)
    (dict(stride=2, dilation=3, output_padding=2), 13),
    (dict(padding=2), 1),
    (dict(stride=2, padding=1, dilation=3, output_size=(10,)), 10),
])
def test_accepted(native, length):
    assert DIALECT.output_size(3, 3, **native) == (length,)


def test_same_conventions_is_empty():
    assert DIALECT.same_conventions(3, 3, 2) == {}
    assert isinstance(DIALECT, TorchDialect) and DIALECT.name == "torch"


def test_the_dialect_does_not_import_torch():
    """The oracle package is NumPy-only: the dialect is arithmetic, never a torch import."""
    import oracles.dialects.torch as module
    source = open(module.__file__, encoding="utf-8").read()
    assert not any(line.startswith(("import torch", "from torch")) for line in source.splitlines())


# ---- experiments: torch itself ----------------------------------------------------------------------

def random_operands(rng, geometry, *, groups, in_per_group=1, out_per_group=1, batch=1):
    x = rng.standard_normal((batch, groups * in_per_group, *geometry.input_size))
    w = rng.standard_normal((groups * in_per_group, out_per_group, *geometry.kernel_size))
    return x, w


@st.composite
def torch_configs(draw):
    """Native torch arguments: valid, or with one rule broken in one dim (about half the time)."""
    ndim = draw(st.integers(1, 3))
    per = lambda lo, hi: [draw(st.integers(lo, hi)) for _ in range(ndim)]  # noqa: E731
    config = dict(input_size=per(1, 4), kernel_size=per(1, 3), stride=per(1, 3), dilation=per(1, 3))
    config["output_padding"] = [draw(st.integers(0, max(s, d) - 1))
                                for s, d in zip(config["stride"], config["dilation"])]
    fulls = [(i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(
        config["input_size"], config["kernel_size"], config["stride"], config["dilation"])]
    # p <= (L + op - 1)//2 keeps the output length L + op - 2p >= 1
    config["padding"] = [draw(st.integers(0, min(2, (L + op - 1) // 2)))
                         for L, op in zip(fulls, config["output_padding"])]
    module_form = draw(st.booleans())
    if module_form:
        lows = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, k, s, d, p in zip(
            config["input_size"], config["kernel_size"], config["stride"], config["dilation"], config["padding"])]
        config["output_size"] = [draw(st.integers(lo, lo + s - 1)) for lo, s in zip(lows, config["stride"])]
    broken = draw(st.sampled_from(["padding", "output_padding", "output_size", "length", None, None, None, None]))
    dim = draw(st.integers(0, ndim - 1))
    if broken == "padding":
        config["padding"][dim] = -1
    elif broken == "output_padding":
        s, d = config["stride"][dim], config["dilation"][dim]
        config["output_padding"][dim] = draw(st.sampled_from([-1, max(s, d)]))
    elif broken == "length" and not module_form:
        config["padding"][dim] = -(-(fulls[dim] + config["output_padding"][dim]) // 2)  # o = L + op - 2p <= 0
    elif broken == "output_size" and module_form:
        config["output_size"][dim] += draw(st.sampled_from([-1, config["stride"][dim]]))
    config = {key: tuple(value) if isinstance(value, list) else value for key, value in config.items()}
    config.update(groups=draw(st.integers(1, 2)), in_per_group=draw(st.integers(1, 2)),
                  out_per_group=draw(st.integers(1, 2)), batch=draw(st.integers(1, 2)), bias=draw(st.booleans()))
    return config


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def run_torch(torch, x, w, bias, native, groups):
    """F.conv_transpose*d, or the module's forward when ``output_size`` is given."""
    ndim = w.ndim - 2
    x_t, w_t = torch.from_numpy(x), torch.from_numpy(w)
    b_t = None if bias is None else torch.from_numpy(bias)
    if native.get("output_size") is None:
        functional = getattr(torch.nn.functional, f"conv_transpose{ndim}d")
        return functional(x_t, w_t, b_t, stride=native["stride"], padding=native["padding"],
                          output_padding=native["output_padding"], groups=groups, dilation=native["dilation"]).numpy()
    module_class = getattr(torch.nn, f"ConvTranspose{ndim}d")
    module = module_class(x.shape[1], w.shape[1] * groups, w.shape[2:], stride=native["stride"],
                          padding=native["padding"], output_padding=native["output_padding"], groups=groups,
                          bias=bias is not None, dilation=native["dilation"]).double()
    with torch.no_grad():
        module.weight.copy_(w_t)
        if bias is not None:
            module.bias.copy_(b_t)
        return module(x_t, output_size=list(native["output_size"])).numpy()


@FAST
@given(torch_configs(), st.integers(0, 2**32 - 1))
def test_torch_agrees_with_dialect_and_oracle(torch, config, seed):
    native = {key: config[key] for key in ("stride", "padding", "output_padding", "dilation")}
    native["output_size"] = config.get("output_size")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((config["batch"], config["groups"] * config["in_per_group"], *config["input_size"]))
    w = rng.standard_normal((config["groups"] * config["in_per_group"], config["out_per_group"],
                             *config["kernel_size"]))
    bias = rng.standard_normal(config["groups"] * config["out_per_group"]) if config["bias"] else None
    try:
        geometry = DIALECT.to_canonical(config["input_size"], config["kernel_size"], **native)
    except Rejected:
        event("rejected")
        with pytest.raises((RuntimeError, ValueError)):
            run_torch(torch, x, w, bias, native, config["groups"])
        return
    event("accepted, module form" if native["output_size"] is not None else "accepted, functional form")
    got = run_torch(torch, x, w, bias, native, config["groups"])
    expected = oracles.conv_transpose(x, w, bias, stride=geometry.stride, padding=geometry.padding(),
                                      dilation=geometry.dilation, groups=config["groups"])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@FAST
@given(any_geometries, st.integers(0, 2**32 - 1))
def test_torch_emulation_matches_the_oracle(torch, geometry, seed):
    try:
        native, slices = DIALECT.emulation(geometry)
    except NotExpressible:
        event("not expressible")
        return
    event("sliced" if any(sl != slice(None) for sl in slices) else "direct")
    x, w = random_operands(np.random.default_rng(seed), geometry, groups=2, in_per_group=2, out_per_group=2)
    got = run_torch(torch, x, w, None, native, groups=2)[(Ellipsis, *slices)]
    expected = oracles.conv_transpose(x, w, stride=geometry.stride, dilation=geometry.dilation,
                                      padding=geometry.padding(), groups=2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("row", [row for row in SECTION_3 if parse_torch_cell(row[2])], ids=lambda r: str(r[0]))
def test_section_3_torch_column_by_experiment(torch, row):
    (i, k, s), (cb, ca), cell = row
    p, op = parse_torch_cell(cell)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 1, i)), rng.standard_normal((1, 1, k))
    got = torch.nn.functional.conv_transpose1d(torch.from_numpy(x), torch.from_numpy(w), stride=s, padding=p,
                                               output_padding=op).numpy()
    np.testing.assert_allclose(got, oracles.conv_transpose(x, w, stride=s, padding=[(cb, ca)]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("padding, output_size, ok", [(1, 10, True), (1, 11, False), (1, 8, False)])
def test_module_range_is_stride_minus_one_even_with_dilation(torch, padding, output_size, ok):
    """i=3, k=3, s=2, d=3: F accepts op=2 (< dilation), the module's output_size check does not."""
    module = torch.nn.ConvTranspose1d(1, 1, 3, stride=2, padding=padding, dilation=3).double()
    x = torch.ones(1, 1, 3, dtype=torch.float64)
    assert torch.nn.functional.conv_transpose1d(x, module.weight, stride=2, padding=1, dilation=3,
                                                output_padding=2).shape[-1] == 11
    if ok:
        assert module(x, output_size=[output_size]).shape[-1] == output_size
        DIALECT.to_canonical(3, 3, stride=2, padding=padding, dilation=3, output_size=(output_size,))
    else:
        with pytest.raises(ValueError, match="valid sizes range"):
            module(x, output_size=[output_size])
        with pytest.raises(Rejected):
            DIALECT.to_canonical(3, 3, stride=2, padding=padding, dilation=3, output_size=(output_size,))
