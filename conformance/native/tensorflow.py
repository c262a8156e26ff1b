"""Native ``tf.nn.conv_transpose`` configurations, drawn in TF's own parameter space.

Valid by construction: per dim draw ``i, k, s, d`` (and explicit pads), then an output length from
TF's admissible range (``K = d*(k-1) + 1``, ``L = (i-1)*s + K``)::

    'SAME'      (i-1)*s + 1 <= o <= i*s                      (ceil(o/s) == i)
    'VALID'     L <= o <= L + s - 1
    explicit    max(1, L - pb - pa) <= o <= L - pb - pa + s - 1   (2-D only)

About a third of the cases are deliberately invalid: one dim gets an output length outside that
range, or the padding string is spelled in lower or mixed case (TF's padding attr is case-sensitive).
The tensorflow dialect decides what TF does with each (``to_canonical`` / ``cpu_outcome``).
"""

from __future__ import annotations

from hypothesis import strategies as st

from oracles.dialects.tensorflow import DATA_FORMATS

from ..cases import NativeCase
from ..strategies import MAX_NATIVE_INPUT, input_length, operand_recipe

VARIANT_FORMAT = {"nn": 0, "nn_channels_first": 1}
MISSPELLED = ("same", "valid", "Same", "Valid")


def admissible_outputs(padding: str, i: int, s: int, L: int, pb: int = 0, pa: int = 0) -> range:
    """The output lengths TF accepts in one dim (see the module docstring); never below 1."""
    if padding == "SAME":
        return range((i - 1) * s + 1, i * s + 1)
    return range(max(1, L - pb - pa), L - pb - pa + s)


@st.composite
def native_dims(draw, padding: str, max_input: int, max_dilation: int = 2):
    """One dim: ``(i, k, s, d, (pb, pa), admissible outputs)``; pads only for explicit padding, kept small
    enough that some ``o >= 1`` is admissible (``pb + pa <= L + s - 2``)."""
    i, k = input_length(draw, max_input), draw(st.integers(1, 3))
    s, d = draw(st.integers(1, 3)), draw(st.integers(1, max_dilation))
    L = (i - 1) * s + d * (k - 1) + 1
    pb = pa = 0
    if padding == "EXPLICIT":
        pb = draw(st.integers(0, min(2, L + s - 2)))
        pa = draw(st.integers(0, min(2, L + s - 2 - pb)))
    return i, k, s, d, (pb, pa), admissible_outputs(padding, i, s, L, pb, pa), L


def _window(values: tuple[int, ...], spell_as_int: bool):
    """Strides/dilations as TF users write them: one int when all dims agree (sometimes), else per dim."""
    return values[0] if spell_as_int and len(set(values)) == 1 else values


def _allowed(mode: str, padding: str) -> bool:
    """A feature's lane mode ("any", "string-padding", "none") allows it with this padding."""
    return mode == "any" or (mode == "string-padding" and padding != "EXPLICIT")


@st.composite
def native_cases(draw, *, variants=tuple(VARIANT_FORMAT), spaces=None):
    """A ``NativeCase(dialect="tensorflow")``: 1-3 dims, SAME/VALID/explicit (2-D), groups 1-2,
    about one third invalid (an inadmissible ``output_shape`` or a misspelled padding string).

    ``spaces`` (variant -> ``Variant.space``) keeps each variant to what its lane can run: no explicit
    pads where it has none, dilation and groups only where the lane runs them."""
    if spaces is not None:
        variants = tuple(v for v in variants if v in spaces)
    variant = draw(st.sampled_from(variants))
    space = (spaces or {}).get(variant, {})
    ndim = draw(st.integers(1, 3))
    data_format = DATA_FORMATS[ndim][VARIANT_FORMAT[variant]]
    explicit = ndim == 2 and space.get("explicit", True)
    padding = draw(st.sampled_from(("SAME", "VALID", "EXPLICIT") if explicit else ("SAME", "VALID")))
    max_dilation = 2 if _allowed(space.get("dilation", "any"), padding) else 1
    grouped = _allowed(space.get("groups", "any"), padding) and (ndim < 3 or space.get("groups_3d", True))
    dims = [draw(native_dims(padding, MAX_NATIVE_INPUT[ndim], max_dilation)) for _ in range(ndim)]
    outputs = [draw(st.sampled_from(admissible)) for *_, admissible, _ in dims]
    flaw = draw(st.sampled_from(("none", "none", "invalid")))
    if flaw == "invalid":  # explicit pads are lists, not strings: only the output can be wrong there
        flaw = "output_shape" if padding == "EXPLICIT" else draw(st.sampled_from(("output_shape", "padding")))
    if flaw == "output_shape":
        dim = draw(st.integers(0, ndim - 1))
        i, k, s, d, pads, admissible, L = dims[dim]
        outside = [o for o in range(1, L + s + 2) if o not in admissible]
        # Half the time just outside the range, where a kernel's own check is most likely off by one.
        edges = [o for o in (admissible[0] - 1, admissible[-1] + 1) if o in outside]
        outputs[dim] = draw(st.sampled_from(edges if edges and draw(st.booleans()) else outside))
    spell_as_int = draw(st.booleans())
    if padding == "EXPLICIT":
        spatial = tuple(pads for *_, pads, _, _ in dims)
        outer = ((0, 0),)
        native_padding = outer + spatial + outer if VARIANT_FORMAT[variant] == 0 else outer + outer + spatial
    else:
        native_padding = draw(st.sampled_from(MISSPELLED)) if flaw == "padding" else padding
    native = dict(
        output_shape=tuple(outputs),
        strides=_window(tuple(s for _, _, s, *_ in dims), spell_as_int),
        dilations=_window(tuple(d for _, _, _, d, *_ in dims), spell_as_int),
        padding=native_padding,
        data_format=data_format,
    )
    return NativeCase(
        dialect="tensorflow", variant=variant, native=tuple(sorted(native.items())),
        input_size=tuple(i for i, *_ in dims), kernel_size=tuple(k for _, k, *_ in dims),
        **draw(operand_recipe(max_groups=2 if grouped else 1, max_per_group=2, max_batch=2)),
    )
