"""Each rule by which a lane is spared configurations still holds: the framework still refuses them.

Lanes draw only what they can run (``Variant.space``), so an unsupported configuration is never drawn
there. This keeps the rules honest: one example per rule runs on its lane, and must come back
``unsupported`` with TensorFlow's own message. A build that starts running one of them turns this red,
and the lane's space (``conformance/targets/tensorflow.py``) should then widen.
"""

import dataclasses

import pytest

from . import check_kinds
from .cases import Case
from .checks import UNSUPPORTED

# 2-D, i=3, k=3, d=2 (K=5), stride 1: TF 'SAME' (o=3) crops (2, 2) per dim, so tf.nn gets a padding string.
SAME_DILATED = dict(input_size=(3, 3), kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), padding=((2, 2), (2, 2)), output_padding=(0, 0))
# 2-D, i=3, k=2, d=1, stride 1: crops (1, 0) are neither 'SAME' (o=3) nor 'VALID' (o=4 needs no crop): explicit pads.
EXPLICIT = dict(input_size=(3, 3), kernel_size=(2, 2), stride=(1, 1), dilation=(1, 1), padding=((1, 0), (1, 0)), output_padding=(0, 0))
EXPLICIT_DILATED = dict(EXPLICIT, dilation=(2, 2), padding=((1, 0), (1, 0)))
SAME_3D = dict(input_size=(2, 2, 2), kernel_size=(1, 1, 1), stride=(1, 1, 1), dilation=(1, 1, 1), padding=((0, 0),) * 3, output_padding=(0, 0, 0))

# (rule, backend, variant, geometry, groups, a fragment of TensorFlow's message)
RULES = [
    ("channels-first-off-onednn", "eigen", "nn_channels_first", dict(EXPLICIT, padding=((0, 0), (0, 0))), 1, "only supports NHWC"),
    ("dilation-off-onednn", "eigen", "nn", SAME_DILATED, 1, "not yet support dilation rates larger than 1"),
    ("groups-off-onednn", "eigen", "nn", dict(SAME_DILATED, dilation=(1, 1), padding=((1, 1), (1, 1))), 2,
     "Gradients for grouped convolutions are not supported on CPU"),
    ("explicit-pads-take-eigen-dilation", "onednn", "nn", EXPLICIT_DILATED, 1, "not yet support dilation rates larger than 1"),
    ("explicit-pads-take-eigen-channels-first", "onednn", "nn_channels_first", EXPLICIT, 1, "only supports NHWC"),
    ("grouped-3d-nowhere", "onednn", "nn", SAME_3D, 2, "same depth"),
]


@pytest.mark.parametrize("rule, backend, variant, geometry, groups, message", RULES, ids=[rule[0] for rule in RULES])
def test_unsupported_rules(convt, rule, backend, variant, geometry, groups, message):
    lane = next((t for t, skip in convt.lanes() if skip is None and t.framework == "tensorflow" and t.lane.device == "cpu"
                 and t.lane.dtype == "float32" and t.lane.backend == backend and t.lane.mode == "eager"), None)
    if lane is None:
        pytest.skip(f"no tensorflow cpu {backend} float32 lane in this run")
    case = Case(batch=1, groups=groups, in_per_group=1, out_per_group=1, bias=False, **geometry)
    # Recorded as its own check: it is the rule's test, not a draw of the lane's value checks.
    verdict = convt.runner.forward(dataclasses.replace(lane, variant=variant), case, check=check_kinds.UNSUPPORTED_RULE)
    assert verdict.outcome == UNSUPPORTED, (
        f"rule {rule} no longer holds on {lane.lane_id}: TensorFlow gave {verdict.outcome} ({verdict.message}); "
        f"widen the lane's space in conformance/targets/tensorflow.py"
    )
    assert message in verdict.message, f"{rule}: unsupported for another reason: {verdict.message}"
