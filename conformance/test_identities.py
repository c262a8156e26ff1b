"""Identities a correct implementation satisfies: linearity, batch split, determinism, and agreement of
dialects that claim the same 'SAME' meaning.

Layout identities (channels-last against channels-first) are the layout variants themselves
(torch.channels_last, tensorflow.nn_channels_first, jax.channels_first), each checked against the oracle.
The kernel identities skip variants that only spell another's call (``Variant.spells``: jax's
conv_transpose, channels_first and transpose_kernel reach the conv that conv_general_dilated runs).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import assert_verdict, check_drawn
from .cases import NativeCase
from .parametrize import frameworks, kernel_check
from .profiles import examples
from .strategies import batched_cases, lane_cases


@kernel_check
@settings(max_examples=examples(30))
@given(data=st.data())
def test_linearity(runner, target, data):
    check_drawn(runner.linearity, target, data, lane_cases)


@kernel_check
@settings(max_examples=examples(20))
@given(data=st.data())
def test_batch_split(runner, target, data):
    check_drawn(runner.batch_split, target, data, batched_cases)


@kernel_check
@settings(max_examples=examples(20))
@given(data=st.data())
def test_determinism(runner, target, data):
    check_drawn(runner.determinism, target, data, lane_cases)


# Each pair claims TensorFlow's 'SAME' (o = i*s); their parameters in their own terms.
SAME_APIS = (
    ("tensorflow", "nn", lambda s, o: {"padding": "SAME", "strides": s, "output_shape": o}),
    ("tensorflow", "keras", lambda s, o: {"padding": "same", "strides": s}),
    ("jax", "conv_transpose", lambda s, o: {"padding": "SAME", "strides": s}),
)


@frameworks("tensorflow", "jax", one_variant=True)
@settings(max_examples=examples(25))
@given(data=st.data())
def test_same_padding_agreement(convt, runner, target, data):
    """TF 'SAME', Keras 'same' and JAX 'SAME' give the same numbers on the same operands."""
    def same_lane(t):  # the same device, dtype and precision; the target's own backend for its own framework
        other, mine = t.lane, target.lane
        same = (other.device, other.dtype, other.precision, other.mode) == (mine.device, mine.dtype, mine.precision, mine.mode)
        return same and (t.framework != target.framework or other.backend == mine.backend)

    lanes = {(t.framework, t.variant): t for t, skip in convt.lanes() if skip is None and same_lane(t)}
    apis = [(lanes[(f, v)], make) for f, v, make in SAME_APIS if (f, v) in lanes]
    if len(apis) < 2:
        pytest.skip("fewer than two 'SAME' dialects on this lane")
    ndim = data.draw(st.integers(1, 2), label="ndim")
    size = tuple(data.draw(st.integers(1, 6)) for _ in range(ndim))
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    output = tuple(i * s for i, s in zip(size, stride))
    case = NativeCase(
        batch=1, groups=1, in_per_group=data.draw(st.integers(1, 3)), out_per_group=data.draw(st.integers(1, 3)),
        input_size=size, kernel_size=kernel, bias=False, values=data.draw(st.sampled_from(["float", "integer"])),
        seed=data.draw(st.integers(0, 2**32 - 1)), dialect="tensorflow", variant="nn",
        native=tuple(sorted(SAME_APIS[0][2](stride, output).items())),
    )
    targets, parameters = zip(*[(t, make(stride, output)) for t, make in apis])
    assert_verdict(runner.agreement(list(targets), list(parameters), case))
