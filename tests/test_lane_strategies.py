"""A lane draws only what its space says it can run: the property behind "no drawn case is unsupported".

Checked against TensorFlow's own padding strings through the dialect (a case "has string padding" when
``from_canonical`` picks 'SAME' or 'VALID' for it), not against the strategy's own bookkeeping.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import targets
from conformance.strategies import lane_cases, large_cases
from conformance.targets.base import Lane, NotApplicable
from oracles.dialects import tensorflow as tf_dialect
from oracles.dialects.base import NotExpressible

MODES = ("any", "string-padding", "none")


def string_padding(case) -> bool:
    try:
        return isinstance(tf_dialect.DIALECT.from_canonical(case.geometry)["padding"], str)
    except NotExpressible:
        return False


spaces = st.fixed_dictionaries(
    {"dilation": st.sampled_from(MODES), "groups": st.sampled_from(MODES), "groups_3d": st.booleans(), "string_padding": st.booleans()},
    optional={"explicit": st.booleans(), "ndims": st.sampled_from([(2,), (1, 3), (1, 2, 3)]), "crop_before_min": st.just(0),
              "crop_after_min": st.sampled_from([0, "1-s", "1-max(s,d)"])},
).filter(lambda space: space.get("explicit", True) or space["string_padding"])  # a space that draws nothing is no lane's


def respects(case, space) -> None:
    dilated, grouped = max(case.dilation) > 1, case.groups > 1
    for feature, used in (("dilation", dilated), ("groups", grouped)):
        assert not (used and space[feature] == "none"), (feature, case)
        if used and space[feature] == "string-padding":
            assert string_padding(case), (feature, case)
    assert not (grouped and case.ndim == 3 and not space["groups_3d"]), case
    if not space.get("explicit", True):
        assert string_padding(case), case
    assert case.ndim in space.get("ndims", (1, 2, 3)), case
    assert min(case.geometry.output_size) >= 1
    if not string_padding(case):  # explicit crops: within the lane's lower ends
        geometry = case.geometry
        for s, d, before, after in zip(geometry.stride, geometry.dilation, geometry.crop_before, geometry.crop_after):
            assert before >= space.get("crop_before_min", -2), case
            after_min = {"1-s": 1 - s, "1-max(s,d)": 1 - max(s, d)}.get(space.get("crop_after_min"), space.get("crop_after_min", -2))
            assert after >= after_min, case


@settings(max_examples=300, deadline=None)
@given(space=spaces, data=st.data())
def test_lane_cases_stay_in_the_lane_space(space, data):
    respects(data.draw(lane_cases(space)), space)


@settings(max_examples=100, deadline=None)
@given(space=spaces, data=st.data())
def test_large_cases_stay_in_the_lane_space(space, data):
    case = data.draw(large_cases(space))
    respects(case, space)
    assert case.geometry.output_size[-1] >= 32


def test_the_tensorflow_spaces_draw_dilation_and_groups_where_onednn_runs_them():
    """Not an empty promise: the oneDNN space still reaches dilation and groups (with 'SAME'/'VALID')."""
    space = {"dilation": "string-padding", "groups": "string-padding", "groups_3d": False, "string_padding": True}
    drawn = []

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(case=lane_cases(space))
    def collect(case):
        drawn.append(case)

    collect()
    assert any(max(c.dilation) > 1 for c in drawn) and any(c.groups > 1 for c in drawn)


def lanes_of(framework):
    """Each variant of ``framework`` on a CPU float32 lane per backend and mode it runs: the spaces a default run draws from."""
    target = targets.get(framework)
    for backend in target.backends or ("default",):
        for mode in ("eager", "compiled"):
            lane = Lane("cpu", "float32", "default", backend, mode)
            for variant in target.variants:
                if variant.lane_support(lane) is None:
                    yield variant, lane


@pytest.mark.parametrize("framework", targets.frameworks())
def test_nine_in_ten_drawn_cases_are_runnable(framework):
    """Budget on runnable cases: at least 90% of each lane's draws are cases its variant expresses
    (``Variant.native`` translates them; pure, no framework import), so the examples become checks."""
    short = []
    for variant, lane in lanes_of(framework):
        drawn = []

        @settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=lane_cases(variant.space(lane)))
        def collect(case):
            drawn.append(case)

        collect()
        expressed = 0
        for case in drawn:
            try:
                variant.native(case)
                expressed += 1
            except NotApplicable:
                pass
        if expressed < 0.9 * len(drawn):
            short.append(f"{variant.name} on {lane.backend}/{lane.mode}: {expressed} of {len(drawn)}")
    assert not short, short
