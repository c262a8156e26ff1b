"""Configurations in JAX's own parameter space (``oracles.dialects.jax`` names), valid or not.

About two thirds of the draws are valid by construction: per dim, with ``K = d*(k-1)+1`` and
``L = (i-1)*s + K``, crops are drawn with ``-2 <= cb <= L-1`` and ``-2 <= ca <= L-1-cb`` (so
``o = L-cb-ca >= 1``) and spelled as jax spells them: ``(cb, ca)`` tuples with
``use_consistent_padding=True``, pairs ``(K-1-cb, K-1-ca)`` without it, or the 'SAME'/'VALID' strings.

The rest are the quirks jax users meet (docs/semantics.md, 'JAX quirks'):

- ``lowercase``: 'same', 'valid', 'Same', 'SAME_LOWER' on conv_transpose. With a stride > 1 jax raises;
  with every stride 1 it silently runs a forward conv ('valid' then gives ``o = i-K+1``, empty when ``i < K``).
- ``empty``: explicit pads with ``o <= 0`` in one dim: jax returns an empty array for ``1-K <= o <= 0``
  and raises ("Negative padding is larger ...") for ``o < 1-K``.
- ``consistent_string``: ``use_consistent_padding=True`` with a lowercase string: jax raises.
- ``general_string``: conv_general_dilated with a padding string and ``lhs_dilation > 1``: jax raises.

The dialect's ``to_canonical`` decides which is which (``Rejected``, ``EmptyOutput`` or a geometry);
the strategy only makes sure each kind is drawn often. Groups only for conv_general_dilated.
"""

from __future__ import annotations

from hypothesis import strategies as st

from oracles.dialects.jax import SPATIAL_LETTERS

from ..cases import NativeCase
from ..strategies import operand_recipe

VARIANTS = ("conv_transpose", "conv_transpose_kernel", "channels_first", "conv_general_dilated")
LOWERCASE = ("same", "valid", "Same", "SAME_LOWER", "same_lower")


@st.composite
def native_cases(draw, *, variants=st.sampled_from(VARIANTS), values=st.sampled_from(["float", "integer"]), spaces=None):
    """A :class:`NativeCase` for the jax dialect; about a third are invalid or quirky on purpose.
    ``spaces`` (variant -> ``Variant.space``) keeps to the variants a lane runs (an ``--impl-dialect jax``
    function is ``conv_transpose`` only); every jax lane runs the whole native space, so a space only selects.

    ``vjp`` is not drawn: its parameters are a forward conv's, derived from a canonical case.
    """
    if spaces is not None:
        variants = st.sampled_from([name for name in VARIANTS if name in spaces])
    variant = draw(variants)
    ndim = draw(st.integers(1, 3))
    max_input, max_kernel = {1: (6, 4), 2: (4, 3), 3: (3, 2)}[ndim]
    input_size = tuple(draw(st.integers(1, max_input)) for _ in range(ndim))
    kernel_size = tuple(draw(st.integers(1, max_kernel)) for _ in range(ndim))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    general = variant == "conv_general_dilated"
    native = {
        "api": "conv_general_dilated" if general else "conv_transpose",
        "rhs_dilation": dilation,
        "transpose_kernel": variant == "conv_transpose_kernel" or (not general and draw(st.booleans())),
        "use_consistent_padding": variant == "conv_transpose_kernel" or (not general and draw(st.booleans())),
        "dimension_numbers": _dimension_numbers(draw, variant, ndim),
    }
    effective = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    quirk = draw(st.sampled_from(_quirks(general))) if draw(st.integers(0, 2)) == 0 else "none"
    if quirk == "lowercase":
        native["use_consistent_padding"] = False
        native["padding"] = draw(st.sampled_from(LOWERCASE))
        if draw(st.booleans()):
            strides = (1,) * ndim  # the silent forward conv
        elif all(s == 1 for s in strides):
            strides = (2,) + strides[1:]  # the error
    elif quirk == "consistent_string":
        native["use_consistent_padding"] = True
        native["padding"] = draw(st.sampled_from(LOWERCASE))
    elif quirk == "general_string":
        native["padding"] = draw(st.sampled_from(["SAME", "VALID", "same"]))
        if all(s == 1 for s in strides):
            strides = (2,) + strides[1:]
    else:
        fulls = [(i - 1) * s + K for i, s, K in zip(input_size, strides, effective)]
        crops = [_valid_crops(draw, L) for L in fulls]
        if quirk == "empty":
            dim = draw(st.integers(0, ndim - 1))
            output = draw(st.integers(-effective[dim] - 1, 0))  # [1-K, 0] empty, below raises
            before = draw(st.integers(-1, fulls[dim] + 1))
            crops[dim] = (before, fulls[dim] - before - output)
        native["padding"] = _spell(draw, crops, effective, native, general, quirk == "empty", strides, input_size)
    native["strides"] = strides
    recipe = operand_recipe(max_groups=3 if general else 1, max_per_group=2, max_batch=2, values=values)
    return NativeCase(
        dialect="jax", variant=variant, native=tuple(sorted(native.items())),
        input_size=input_size, kernel_size=kernel_size, **draw(recipe),
    )


def _quirks(general: bool) -> list[str]:
    return ["empty", "general_string"] if general else ["lowercase", "empty", "consistent_string"]


def _dimension_numbers(draw, variant: str, ndim: int):
    """None (the API's default), a shorthand, or explicit channels-first specs with either kernel order."""
    letters = SPATIAL_LETTERS[:ndim]
    if variant == "channels_first":
        return draw(st.sampled_from([("NC" + letters, kernel + letters, "NC" + letters) for kernel in ("OI", "IO")]
                                    + ["channels_first"]))
    return draw(st.sampled_from([None, "channels_last"]))


def _valid_crops(draw, full: int) -> tuple[int, int]:
    """``(cb, ca)`` with ``-2 <= cb <= L-1`` and ``-2 <= ca <= L-1-cb``: output length >= 1."""
    before = draw(st.integers(-2, full - 1))
    return before, draw(st.integers(-2, full - 1 - before))


def _spell(draw, crops, effective, native, general, explicit_only, strides, input_size):
    """jax's spelling of per-dim crops: a string where one gives exactly these crops and the draw
    wants it, else ``(cb, ca)`` tuples (use_consistent_padding) or pads ``(K-1-cb, K-1-ca)``."""
    if not explicit_only and not general and draw(st.integers(0, 2)) == 0:
        # 'SAME' or 'VALID' replace the drawn crops (both valid for every i, k, s, d).
        return draw(st.sampled_from(["SAME", "VALID"]))
    if not explicit_only and general and all(s == 1 for s in strides) and draw(st.booleans()):
        # conv_general_dilated strings are forward padding; 'VALID' only where o = i-K+1 >= 1.
        fits = all(i >= K for i, K in zip(input_size, effective))
        return draw(st.sampled_from(["SAME", "SAME_LOWER"] + ["VALID"] * fits))
    if native["use_consistent_padding"] and not general:
        return tuple((cb, ca) for cb, ca in crops)
    return tuple((K - 1 - cb, K - 1 - ca) for K, (cb, ca) in zip(effective, crops))
