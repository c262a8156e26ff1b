"""Hypothesis strategies for transposed-convolution cases: valid by construction, aimed at the edges
where implementations branch, and drawn from what each lane can run.

**Valid by construction.** Each strategy draws the quantities that constrain the others first (kernel,
dilation, stride, input length), then derives the admissible range of what remains (crops, output
length, output padding), so no example is thrown away by ``assume``.

**Edges.** A uniform draw rarely lands where kernels take another branch, so each quantity is drawn
from its edges half the time (:func:`edge_or_any`), and uniformly otherwise:

- a start crop around ``K-1`` (``K-1 .. K+1``), where the zero-insertion padding ``K-1-crop`` of the
  correlation a transposed convolution lowers to turns negative; a start crop of ``full - 1`` (one
  output, the last); end crops of 0, ``K-1``, ``K`` and the one that leaves a single output;
- negative crops (zeros appended beyond the full output: bias only there) of 1 (and 2 at the end);
- ``output_padding`` at ``s-1``, ``s``, ``s+1``, ``d-1`` and ``d`` (PyTorch accepts ``op < max(s, d)``,
  ONNX Runtime and Keras ``op < s``);
- an input of length 1 (one dim in five), and gaps: a stride of ``K+1`` to ``K+3`` (outputs no tap reaches;
  from ``K+2`` on, a 'SAME' output can outgrow the full one by 2 or more, past TF's clamp of the pad at 0);
- channel counts around vector widths and algorithm switches (:data:`CHANNEL_WIDTHS`: 8, 15, 16, 17,
  32, 33), as many output as input channels (where weight folding lines up), depthwise (one each per group);
- output lengths around 32, 64, 128 and 256 (:data:`LONG_OUTPUTS`, ``large_cases``);
- as many channels as the last input or output length (one case in four, :func:`layout_ambiguous`),
  where a kernel that tells channels-first from channels-last by shape sees both alike.

**Swarm.** Each canonical case first draws which features it uses (:data:`FEATURES`: stride,
dilation, crops, negative crops, output padding, groups; each in three draws of four); a feature left
out keeps its neutral value. One case in four has plain windows (stride and dilation both off): the
kernels for unit stride and dilation are their own (XLA lowers a stride to an lhs dilation and a
dilation to an rhs dilation, each another kernel), and a product of two 3/4 draws would leave them
to one case in sixteen.
Rare combinations of features then come up as often as common ones instead of being drowned by them
(Groce et al., "Swarm testing", ISSTA 2012), and a shrunk example keeps only the features it needs.

**Lanes.** ``lane_cases(space)`` draws what a lane can run (``Variant.space``): canonical cases kept
to the crops, dims, dilation and groups its API expresses, TensorFlow's 'SAME'/'VALID' geometries,
PyTorch's own parameters, or a dialect's own valid native cases mapped to canonical form, so that
nearly every draw becomes a check (``tests/test_lane_strategies.py`` holds each variant to 90%).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib

from hypothesis import strategies as st

from .cases import Case


# Spatial input lengths the native strategies draw, by spatial rank: small products of sizes keep the
# oracle and the framework calls cheap.
MAX_NATIVE_INPUT = {1: 6, 2: 4, 3: 3}
# Spatial input lengths the canonical strategies draw, by spatial rank.
MAX_INPUT = {1: 7, 2: 5, 3: 3}
# Channel counts (per group) around SIMD widths and the switches between vectorised loops and their remainders.
CHANNEL_WIDTHS = (8, 15, 16, 17, 32, 33)
# Output lengths of large_cases: around tile sizes and the lengths where kernels change algorithm.
LONG_OUTPUTS = (32, 33, 64, 65, 128, 129, 256, 257)
# The features a canonical case may use (swarm testing); each is on in three draws of four, so that
# conjunctions of features (where most defects live) stay common while each is left out now and then.
FEATURES = ("stride", "dilation", "crop", "extension", "output_padding", "groups")
# The lane-space keys through which an implementation's declared capabilities narrow canonical cases.
DECLARED = ("symmetric", "output_padding", "padding_after_min", "batched", "bias")


def edge_or_any(draw, low: int, high: int, edges) -> int:
    """An integer in ``[low, high]``: one of ``edges`` that lies in the range half the time, else any.
    The choice shrinks towards "any" and then towards ``low``, so a shrunk example leaves an edge only
    where the failure does not need it."""
    inside = sorted({edge for edge in edges if low <= edge <= high})
    if inside and draw(st.integers(0, 1)) == 1:
        return draw(st.sampled_from(inside))
    return draw(st.integers(low, high))


def input_length(draw, max_input: int) -> int:
    """An input length: 1 in one draw of five (a dim where stride plays no part), else ``1..max_input``."""
    return 1 if draw(st.integers(0, 4)) == 4 else draw(st.integers(1, max_input))


@st.composite
def feature_sets(draw, allowed=FEATURES) -> frozenset:
    """The features one case uses: each of ``allowed`` on (three times in four; groups in half the
    draws, since channel counts matter most ungrouped) or off (swarm testing), except that one set in
    four has plain windows (neither stride nor dilation). Off is the shrink target, so a shrunk
    example keeps only the features its failure needs."""
    plain = "stride" in allowed and "dilation" in allowed and draw(st.integers(0, 3)) == 3
    return frozenset(feature for feature in allowed if draw(st.integers(0, 1 if feature == "groups" else 3)) > 0
                     and not (plain and feature in ("stride", "dilation")))


# ``output_padding`` rules (``conformance.capabilities.OUTPUT_PADDING``): the largest op, by stride and dilation.
OUTPUT_PADDING_LIMITS = {
    "none": lambda s, d: 0,
    "below-stride": lambda s, d: s - 1,
    "below-stride-or-dilation": lambda s, d: max(s, d) - 1,
    "any": lambda s, d: max(s, d) + 1,
}


@st.composite
def canonical_dims(draw, *, features=frozenset(FEATURES), max_input=5, max_kernel=4, max_stride=4, max_dilation=3, max_extension=2,
                   crop_before_min=None, crop_after_min=None, window=None, symmetric=False, output_padding="any", padding_after_min=None):
    """One spatial dim: ``(i, k, s, d, (crop_before, crop_after + op), op)``, using only ``features``.

    Crops range from ``-max_extension`` (zeros appended: "extension") to crops that leave one output
    ("crop"); ``crop_before_min``/``crop_after_min`` raise the lower ends for APIs that cannot append
    zeros (``crop_after_min="1-s"`` or ``"1-max(s,d)"``: an output padding below that is the only extension).
    ``window``: this dim's ``(k, s, d)``, given (an isotropic case repeats its first dim's), else drawn.
    An implementation's declared space (``conformance.capabilities``) narrows it further: ``symmetric``
    padding pairs (``crop_before == crop_after + op``), ``output_padding`` by its rule
    (:data:`OUTPUT_PADDING_LIMITS`), and ``padding_after_min`` on ``crop_after + op``."""
    kernel, stride, dilation = window if window is not None else draw(windows(features, max_kernel, max_stride, max_dilation))
    effective = dilation * (kernel - 1) + 1
    length = input_length(draw, max_input)
    full = (length - 1) * stride + effective
    if symmetric or output_padding != "any" or padding_after_min is not None:
        return draw(_declared_dim(features, length, kernel, stride, dilation, max_extension, crop_before_min, symmetric, output_padding,
                                  padding_after_min))
    extension = max_extension if "extension" in features else 0
    low_before = max(-extension, -max_extension if crop_before_min is None else crop_before_min)
    high_before = full - 1 if "crop" in features else max(low_before, 0)
    crop_before = edge_or_any(draw, low_before, high_before, (effective - 1, effective, effective + 1, full - 1, -1))
    after_min = {None: -max_extension, "1-s": 1 - stride, "1-max(s,d)": 1 - max(stride, dilation)}.get(crop_after_min, crop_after_min)
    low_after = max(-extension, after_min)
    high_after = full - crop_before - 1 if "crop" in features else max(low_after, min(0, full - crop_before - 1))
    crop_after = edge_or_any(draw, low_after, high_after, (0, effective - 1, effective, high_after, -1, -2))
    output_padding = 0
    if "output_padding" in features:
        output_padding = edge_or_any(draw, 1, OUTPUT_PADDING_LIMITS["any"](stride, dilation), (stride - 1, stride, stride + 1, dilation - 1, dilation))
    return length, kernel, stride, dilation, (crop_before, crop_after + output_padding), output_padding


@st.composite
def _declared_dim(draw, features, length, kernel, stride, dilation, max_extension, crop_before_min, symmetric, output_padding,
                  padding_after_min):
    """:func:`canonical_dims` for a declared space: ``op`` first (within its rule), then the padding pair,
    symmetric or not, each end from ``-max_extension`` (or its minimum) to what leaves one output."""
    effective = dilation * (kernel - 1) + 1
    full = (length - 1) * stride + effective
    limit = OUTPUT_PADDING_LIMITS[output_padding](stride, dilation)
    op = edge_or_any(draw, 1, limit, (stride - 1, stride, dilation - 1, limit)) if "output_padding" in features and limit >= 1 else 0
    extension = max_extension if "extension" in features else 0
    low_before = max(-extension, -max_extension if crop_before_min is None else crop_before_min)
    low_after = max(-extension, -max_extension if padding_after_min is None else padding_after_min)
    # o = full - before - after + op >= 1
    if symmetric:
        low = max(low_before, low_after)
        high = (full + op - 1) // 2 if "crop" in features else max(low, 0)
        before = after = edge_or_any(draw, low, max(low, high), (effective - 1, effective, high, -1))
    else:
        high_before = full + op - 1 - low_after if "crop" in features else max(low_before, 0)
        before = edge_or_any(draw, low_before, max(low_before, high_before), (effective - 1, effective, effective + 1, -1))
        high_after = full + op - 1 - before if "crop" in features else max(low_after, min(0, full + op - 1 - before))
        after = edge_or_any(draw, low_after, max(low_after, high_after), (0, effective - 1, effective, high_after, -1))
    return length, kernel, stride, dilation, (before, after), op


# Channels per group: "wide" (around a vector width on one side or both) in half the draws, since real
# layers have many channels and the channel loops are where kernels vectorise; the rest small, square
# (as many out as in) or depthwise (one each).
@st.composite
def windows(draw, features, max_kernel=4, max_stride=4, max_dilation=3):
    """``(k, s, d)`` of one dim: a stride of 2 or more, 1 to 3 beyond the effective kernel (a gap: outputs
    no tap reaches) or equal to the kernel (non-overlapping taps, the usual upsampling layer)."""
    kernel = draw(st.integers(1, max_kernel))
    dilation = draw(st.integers(2, max_dilation)) if "dilation" in features and max_dilation > 1 else 1
    effective = dilation * (kernel - 1) + 1
    stride = 1
    if "stride" in features and max_stride > 1:
        kind = draw(st.sampled_from(("any", "gap", "kernel")))
        stride = {"gap": effective + draw(st.integers(1, 3)), "kernel": max(2, kernel)}.get(kind) or draw(st.integers(2, max_stride))
    return kernel, stride, dilation


CHANNEL_SHAPES = ("small", "wide", "square", "wide", "depthwise", "wide")


@st.composite
def operand_recipe(draw, *, max_groups=3, max_per_group=3, max_batch=3, values=st.sampled_from(["float", "integer"]), widths=True,
                   features=frozenset(FEATURES), batched=False, bias=True):
    """The fields of :class:`~conformance.cases.Operands` other than the sizes: channels, batch, bias,
    values, seed. Channels per group are small, square (as many out as in), depthwise (one each) or,
    with ``widths``, around a vector width (:data:`CHANNEL_WIDTHS`) on at least one side. ``batched``:
    never an unbatched input; ``bias=False``: never a bias (an implementation's declared space)."""
    groups = draw(st.integers(2, max_groups)) if "groups" in features and max_groups > 1 else 1
    shape = draw(st.sampled_from(CHANNEL_SHAPES if widths else tuple(s for s in CHANNEL_SHAPES if s != "wide")))
    if shape == "depthwise":
        in_per_group = out_per_group = 1
    elif shape == "wide":
        side = draw(st.sampled_from(("in", "out", "both", "square")))
        in_per_group = draw(st.sampled_from(CHANNEL_WIDTHS)) if side in ("in", "both", "square") else draw(st.integers(1, max_per_group))
        out_per_group = (in_per_group if side == "square" else draw(st.sampled_from(CHANNEL_WIDTHS)) if side in ("out", "both")
                         else draw(st.integers(1, max_per_group)))
    else:
        in_per_group = draw(st.integers(1, max_per_group))
        out_per_group = in_per_group if shape == "square" else draw(st.integers(1, max_per_group))
    return dict(
        batch=draw(st.integers(1, max_batch) if batched else st.one_of(st.none(), st.integers(1, max_batch))),
        groups=groups,
        in_per_group=in_per_group,
        out_per_group=out_per_group,
        bias=draw(st.booleans()) if bias else False,
        values=draw(values),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def layout_ambiguous(draw, case, output_length):
    """``case`` with, one time in four, as many channels (output or input, all groups) as its last output or
    input length, where a kernel that tells a layout from shapes (channels first or last, a bias add) cannot
    tell which axis is which. ``output_length``: the case's last output length (None where it has none)."""
    if draw(st.integers(0, 3)) != 0:
        return case
    side = draw(st.sampled_from(("out", "in")))
    length = output_length if side == "out" else case.input_size[-1]
    if not length or length < 2 or length % case.groups:
        return case
    return dataclasses.replace(case, **{f"{side}_per_group": length // case.groups})


def _case(draw, ndim, dims, recipe):
    """A case of ``ndim`` dims drawn from ``dims``; ``dims`` may be a callable ``window -> strategy``, and
    then half the cases are isotropic (every dim with the first dim's kernel, stride and dilation, as
    most layers are), which makes "every dim" conditions as likely as "some dim" ones."""
    if callable(dims) and not isinstance(dims, st.SearchStrategy):
        first = draw(dims(None))
        window = (first[1], first[2], first[3]) if draw(st.booleans()) else None
        per_dim = [first] + [draw(dims(window)) for _ in range(ndim - 1)]
    else:
        per_dim = [draw(dims) for _ in range(ndim)]
    length, kernel, stride, dilation, padding, output_padding = (tuple(column) for column in zip(*per_dim))
    case = Case(
        input_size=length, kernel_size=kernel, stride=stride, dilation=dilation, padding=padding,
        output_padding=output_padding, **draw(recipe),
    )
    return layout_ambiguous(draw, case, case.geometry.output_size[-1])


@st.composite
def cases(draw, *, dims=st.integers(1, 3), max_groups=3, max_per_group=3, max_batch=3, values=st.sampled_from(["float", "integer"]),
          max_dilation=3, groups_3d=True, crop_before_min=None, crop_after_min=None, declared=None):
    """A canonical case: 1 to 3 spatial dims, the features of a swarm draw (:data:`FEATURES`) at their edges,
    batch or unbatched, bias or not. ``declared``: the narrowing an implementation declares
    (``symmetric``, ``output_padding``, ``padding_after_min``, ``batched``, ``bias``; see :func:`lane_cases`)."""
    declared = dict(declared or {})
    ndim = draw(dims)
    features = draw(feature_sets())
    groups = max_groups if groups_3d or ndim < 3 else 1
    recipe = operand_recipe(max_groups=groups, max_per_group=max_per_group, max_batch=max_batch, values=values, features=features,
                            batched=declared.get("batched", False), bias=declared.get("bias", True))
    return _case(draw, ndim, lambda window: canonical_dims(
        features=features, max_input=MAX_INPUT.get(ndim, 3), max_dilation=max_dilation, crop_before_min=crop_before_min,
        crop_after_min=crop_after_min, window=window, symmetric=declared.get("symmetric", False),
        output_padding=declared.get("output_padding", "any"), padding_after_min=declared.get("padding_after_min")), recipe)


@st.composite
def string_padding_cases(draw, *, dilation=True, groups=True, groups_3d=True, max_per_group=3, max_batch=3,
                         values=st.sampled_from(["float", "integer"]), dims=st.integers(1, 3), max_inputs=(7, 5, 3)):
    """A canonical case whose crops are TensorFlow's 'SAME' or 'VALID' ones, drawn in TF's own terms
    (strides, dilations, padding string, an admissible output length per dim: its ends half the time)
    and mapped through the tensorflow dialect: the geometries a TF lane runs on its oneDNN kernels, and
    the only ones ``tf.nn`` expresses in 1-D and 3-D."""
    from oracles.dialects import tensorflow as tf_dialect

    ndim = draw(dims)
    features = draw(feature_sets(("stride", "dilation", "groups")))
    padding = draw(st.sampled_from(("SAME", "VALID")))
    max_input = max_inputs[ndim - 1]
    inputs, kernels, strides, dilations, outputs = [], [], [], [], []
    for _ in range(ndim):
        i = input_length(draw, max_input)
        k, s, d = draw(windows(features, max_dilation=3 if dilation else 1))
        full = (i - 1) * s + d * (k - 1) + 1
        admissible = range((i - 1) * s + 1, i * s + 1) if padding == "SAME" else range(full, full + s)
        o = edge_or_any(draw, admissible[0], admissible[-1], (admissible[0], admissible[-1]))
        inputs.append(i), kernels.append(k), strides.append(s), dilations.append(d), outputs.append(o)
    geometry = tf_dialect.DIALECT.to_canonical(tuple(inputs), tuple(kernels), strides=tuple(strides), dilations=tuple(dilations),
                                               padding=padding, output_shape=tuple(outputs))
    max_groups = (3 if groups is True else groups or 1) if groups_3d or ndim < 3 else 1
    recipe = draw(operand_recipe(max_groups=max_groups, max_per_group=max_per_group, max_batch=max_batch, values=values, features=features))
    return Case(input_size=geometry.input_size, kernel_size=geometry.kernel_size, stride=geometry.stride, dilation=geometry.dilation,
                padding=geometry.padding(), output_padding=(0,) * ndim, **recipe)


@st.composite
def torch_dims(draw, *, features=frozenset(FEATURES), max_input=5, max_kernel=4, max_stride=4, max_dilation=3, module=False):
    """One spatial dim in PyTorch's own terms, mapped to canonical crops: ``padding = p >= 0`` crops
    both ends (edges: 0, ``K-2 .. K``, the largest that leaves an output), ``0 <= output_padding <
    max(s, d)`` (the module: ``< s``; edges: the largest) extends the end, and the output is at least
    one long; ``(i, k, s, d, (p, p - op), 0)`` as :func:`canonical_dims` returns."""
    kernel, stride, dilation = draw(windows(features, max_kernel, max_stride, max_dilation))
    effective = dilation * (kernel - 1) + 1
    length = input_length(draw, max_input)
    full = (length - 1) * stride + effective
    limit = stride if module else max(stride, dilation)
    output_padding = edge_or_any(draw, 1, limit - 1, (limit - 1, stride - 1)) if "output_padding" in features and limit > 1 else 0
    largest = (full + output_padding - 1) // 2
    padding = edge_or_any(draw, 0, largest, (effective - 2, effective - 1, effective, largest)) if "crop" in features else 0
    return length, kernel, stride, dilation, (padding, padding - output_padding), 0


@st.composite
def torch_cases(draw, *, dims=st.integers(1, 3), max_dilation=3, max_groups=3, module=False, **recipe):
    """A canonical case PyTorch's functional (or, with ``module``, ``nn.ConvTranspose*d(output_size=)``)
    form expresses, drawn in its own terms: so a torch lane's draws become checks, not skips."""
    ndim = draw(dims)
    features = draw(feature_sets(("stride", "dilation", "crop", "output_padding", "groups")))
    return _case(draw, ndim, torch_dims(features=features, max_input=MAX_INPUT.get(ndim, 3), max_dilation=max_dilation, module=module),
                 operand_recipe(max_groups=max_groups, features=features, **recipe))


@st.composite
def native_lane_cases(draw, dialect: str, variant: str, space: dict):
    """A canonical case from the dialect's own valid native cases for ``variant`` (``conformance.native``),
    mapped to canonical form: for APIs whose parameter space is easier to draw in their own terms
    (Keras's padding strings with output_padding, ONNX's auto_pad and output_shape)."""
    module = importlib.import_module(f"conformance.native.{dialect}")
    native = draw(module.native_cases(spaces={variant: space}, invalid=False))
    return Case.from_geometry(native, native.canonical().geometry)


def lane_cases(space: dict | None = None, **kwargs):
    """Cases a lane can run, drawn by construction from its space (``Variant.space``):

    - ``dilation``, ``groups``: "any", only with 'SAME'/'VALID' crops ("string-padding"), or "none";
      ``groups_3d``: grouped 3-D or not; ``ndims``: the spatial ranks (default 1 to 3);
    - where crops come from: ``explicit`` (default) canonical crops, with ``crop_before_min``,
      ``crop_after_min`` (an int, "1-s" or "1-max(s,d)") and ``explicit_ndims`` where the API limits them;
      ``string_padding``: TF's 'SAME'/'VALID'; ``torch``: "functional" or "module", PyTorch's own
      parameters; ``native``: ``(dialect, variant)``, the dialect's own valid cases;
    - what an implementation declares (``conformance.capabilities``, explicit crops only): ``symmetric``
      padding pairs, an ``output_padding`` rule, ``padding_after_min``, ``batched`` inputs, ``bias`` or not."""
    return _lane_cases(tuple(sorted((space or {}).items())), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=None)
def _lane_cases(space: tuple, kwargs: tuple):
    space, kwargs = dict(space), dict(kwargs)
    if "native" in space:
        dialect, variant = space["native"]
        return native_lane_cases(dialect, variant, {key: value for key, value in space.items() if key != "native"})
    ndims = tuple(space.get("ndims", (1, 2, 3)))
    if "dims" not in kwargs:
        kwargs["dims"] = st.sampled_from(ndims)
    dilation, groups = space.get("dilation", "any"), space.get("groups", "any")
    groups_3d = space.get("groups_3d", True)
    parts = []
    explicit_ndims = tuple(n for n in space.get("explicit_ndims", ndims) if n in ndims)
    if space.get("explicit", True) and not space.get("torch") and explicit_ndims:
        explicit = {**kwargs, "dims": st.sampled_from(explicit_ndims)} if "explicit_ndims" in space else kwargs
        declared = {key: space[key] for key in DECLARED if key in space}
        parts.append(cases(max_dilation=3 if dilation == "any" else 1, max_groups=3 if groups == "any" else 1, groups_3d=groups_3d,
                           crop_before_min=space.get("crop_before_min"), crop_after_min=space.get("crop_after_min"),
                           declared=declared, **explicit))
    if space.get("string_padding"):
        parts.append(string_padding_cases(dilation=dilation != "none", groups=groups != "none", groups_3d=groups_3d, **kwargs))
    if space.get("torch"):
        parts.append(torch_cases(module=space["torch"] == "module", max_groups=3 if groups == "any" else 1, **kwargs))
    return st.one_of(*parts)


@st.composite
def large_cases(draw, space: dict | None = None):
    """A case the lane can run with its last dim's output stretched to one of :data:`LONG_OUTPUTS` (32 to
    257; of those the stride can reach exactly, if any), where kernels switch algorithms (tiling, FFT, Winograd).
    Only the input length grows (by ``n``, the output by ``n * s``), so every crop, and with it what
    made the case the lane's own, stays as drawn. 1-D and 2-D: a long 3-D output costs more than it finds,
    unless the lane runs 3-D alone."""
    space = dict(space or {})
    # A lane of 3-D only (an implementation that declares ndims=(3,)) keeps its 3-D: a 2-D case is outside its space.
    ndims = tuple(n for n in space.get("ndims", (1, 2)) if n <= 2) or tuple(space.get("ndims", ())) or (2,)
    case = draw(lane_cases({**space, "ndims": ndims}))
    output, stride = case.geometry.output_size[-1], case.stride[-1]
    reachable = [length for length in LONG_OUTPUTS if length >= output and (length - output) % stride == 0]
    target = draw(st.sampled_from(reachable or LONG_OUTPUTS))  # exactly, where the stride lets the output land on it
    grow = max(0, -(-(target - output) // stride))
    return dataclasses.replace(case, input_size=case.input_size[:-1] + (case.input_size[-1] + grow,))


@st.composite
def batched_cases(draw, space: dict | None = None):
    """Cases with a batch of at least two, for the batch-split identity."""
    case = draw(lane_cases(space))
    return dataclasses.replace(case, batch=max(2, case.batch or 2))
