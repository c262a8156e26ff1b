"""Execution modes as a lane dimension: lane ids, the compiled budget, the re-run that places a compiled
failure, records and reports that carry the mode, known discrepancies that select it, the cache option."""

import dataclasses
from pathlib import Path

import pytest

import oracles
from conformance import modes
from conformance.cases import Case
from conformance.known import Discrepancy
from conformance.lanes import TargetLane
from conformance.records import Record, write_run
from conformance.runner import Runner
from conformance.targets import get
from conformance.targets.base import Lane
from reports.compare import compare
from reports.discrepancies import discrepancy_id, mode_verdict
from reports.html import matrix_rows
from reports.summary import targets as summary_targets

CASE = Case(batch=1, groups=1, in_per_group=2, out_per_group=2, input_size=(4,), kernel_size=(3,), bias=True,
            stride=(2,), dilation=(1,), padding=((1, 1),), output_padding=(1,), seed=5)

pytest_plugins = ["pytester"]
IMPLS = Path(__file__).parent / "impls"


def target(mode, variant="functional"):
    return TargetLane("torch", "torch", variant, Lane("cpu", "float64", "default", "native", mode))


def test_lane_ids_keep_eager_ids_and_name_the_compiled_mode():
    assert target("eager").id == "torch.functional-cpu-native-float64"
    assert target("compiled").id == "torch.functional-cpu-native-float64-compiled"
    assert target("compiled").description.endswith(" compiled")


@pytest.mark.parametrize("profile, expected", [(100, 5), (1000, 50), (10, 1), (1, 1), (30, 2)])
def test_compiled_lanes_draw_a_twentieth_of_the_profile(profile, expected):
    assert modes.compiled_examples(profile) == expected


def test_every_eager_framework_has_a_compiled_counterpart_or_says_why_not():
    from conformance import targets

    for name, framework in targets.targets().items():
        for variant in framework.variants:
            reason = variant.lane_support(Lane("cpu", "float32", mode="compiled"))
            assert ("compiled" in variant.modes) == (reason is None), (name, variant.name, reason)
            if reason:
                assert "no compiled" in reason and len(reason) > 40, reason
    assert "compiled" in get("torch").variant("functional").modes and "compiled" in get("jax").variant("vjp").modes
    assert "compiled" in get("tensorflow@eigen").variant("keras").modes


class ModePool:
    """A worker that answers right in the modes of ``right`` and wrong (off by 1 at one element) in the others."""

    def __init__(self, right):
        self.right, self.modes = right, []

    def call(self, worker, method, variant, native, x, w, bias, groups, lane, max_elements=None, **kwargs):
        self.modes.append(lane.mode)
        y = oracles.conv_transpose(x, w, bias, **CASE.oracle_kwargs())
        if lane.mode not in self.right:
            y = y.copy()
            y.flat[0] += 1.0
        return y


@pytest.mark.parametrize("right, verdict", [
    (("eager", "aot_eager"), "the fault is in inductor itself"),
    (("eager",), "in tracing (dynamo/AOTAutograd)"),
    ((), "Not specific to compilation"),
])
def test_a_compiled_failure_is_rerun_eagerly_and_under_aot_eager(right, verdict):
    pool, emitted = ModePool(right), []
    runner = Runner(pool, lambda record, v: emitted.append(record))
    result = runner.forward(target("compiled"), CASE)
    assert result.outcome == "mismatch"
    assert pool.modes == ["compiled", "eager", "aot_eager"]
    [record] = emitted  # the re-runs emit nothing
    assert record.mode == "compiled"
    assert record.modes == {"eager": "pass" if "eager" in right else "mismatch",
                            "aot_eager": "pass" if "aot_eager" in right else "mismatch"}
    assert verdict in record.message and verdict in result.message


def test_a_passing_compiled_check_and_an_eager_failure_are_not_rerun():
    for right, mode in ((("compiled",), "compiled"), ((), "eager")):
        pool, emitted = ModePool(right), []
        Runner(pool, lambda record, v: emitted.append(record)).forward(target(mode), CASE)
        assert pool.modes == [mode] and emitted[0].modes is None


def test_only_hypothesis_final_example_is_rerun():
    pool = ModePool(("eager",))
    Runner(pool, lambda record, v: None, final=lambda: False).forward(target("compiled"), CASE)
    assert pool.modes == ["compiled"]


def test_mode_verdict_wording():
    assert mode_verdict(None) == "" and mode_verdict({}) == ""
    assert "only the compiled program is wrong" in mode_verdict({"eager": "pass"})


def record(mode, outcome="mismatch", **changes):
    fields = dict(check="forward", target="torch.functional", framework="torch", version="2.13.0", device="cpu",
                  dtype="float32", precision="default", backend="onednn", outcome=outcome, case=CASE.to_data(),
                  native={"stride": [2]}, mode=mode)
    return Record(**{**fields, **changes})


def test_the_mode_joins_ids_cells_matrix_and_summary_but_eager_ids_stay():
    eager, compiled = record("eager"), record("compiled")
    before_modes = dataclasses.asdict(eager)
    del before_modes["mode"], before_modes["modes"]
    assert discrepancy_id(eager) == discrepancy_id(Record(**before_modes))  # records written before modes
    assert discrepancy_id(compiled) != discrepancy_id(eager)
    rows = matrix_rows([eager, compiled])
    assert [row["mode"] for row in rows] == ["compiled", "eager"]
    assert {lane["mode"] for lane in summary_targets([eager, compiled])} == {"eager", "compiled"}


def test_a_compiled_cell_failing_is_a_new_cell_even_where_eager_already_failed(tmp_path):
    run = {"status": "complete", "frameworks": {"torch": {"framework": "torch", "version": "2.13.0"}}}
    write_run(tmp_path / "base", run, [record("eager"), record("compiled", outcome="pass")])
    write_run(tmp_path / "cand", run, [record("eager"), record("compiled")])
    comparison = compare(tmp_path / "base", tmp_path / "cand")
    assert comparison.failed
    assert [cell["mode"] for cell in comparison.new_cells] == ["compiled"]


def test_known_discrepancies_select_modes():
    entry = Discrepancy(id="x", framework="torch", versions=">=2", reason="r", link="l", modes=("compiled",))
    assert entry.covers(record("compiled")) and not entry.covers(record("eager"))
    assert Discrepancy(id="y", framework="torch", versions=">=2", reason="r", link="l").covers(record("eager"))


def test_compile_cache_variables_name_the_directory(tmp_path):
    assert get("torch").cache_environment(tmp_path)["TORCHINDUCTOR_CACHE_DIR"] == f"{tmp_path}/inductor"
    assert get("jax").cache_environment(tmp_path)["JAX_COMPILATION_CACHE_DIR"] == f"{tmp_path}/jax"
    assert get("torch").cache_environment(None) == {}


def test_a_check_keeps_its_keyword_arguments_through_the_rerun():
    """``forward(..., check=...)`` (the unsupported-rule check) passes through the re-run wrapper."""
    pool, emitted = ModePool(("eager",)), []
    Runner(pool, lambda record, v: emitted.append(record)).forward(target("compiled"), CASE, check="unsupported-rule")
    assert [record.check for record in emitted] == ["unsupported-rule"] and pool.modes == ["compiled", "eager", "aot_eager"]


@pytest.mark.parametrize("profile, at_default, expected", [(100, 30, 30), (1000, 30, 300), (1000, 15, 150), (10, 30, 3), (5, 15, 1), (1, 40, 1)])
def test_every_test_budget_scales_with_the_profile(profile, at_default, expected):
    from conformance.profiles import examples

    assert examples(at_default, profile) == expected


def test_the_suite_tests_take_their_share_of_a_deeper_run(pytester):
    """Under --max-examples 1000 every test of the suite has ten times its default budget (an explicit
    max_examples in a decorator would stay fixed, so a nightly run would deepen test_values alone)."""
    pytester.makeconftest("""
        def pytest_collection_modifyitems(items):
            budgets = {item.originalname: item.function._hypothesis_internal_use_settings.max_examples
                       for item in items if hasattr(item.function, "_hypothesis_internal_use_settings")}
            print("BUDGETS", sorted(budgets.items()))
            items[:] = []
    """)
    result = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--impl",
                                           f"{IMPLS}/missing_bias.py:conv_transpose", "--max-examples", "1000", "-s")
    line = next(line for line in result.stdout.lines if line.startswith("BUDGETS"))
    budgets = dict(eval(line.removeprefix("BUDGETS ")))
    assert budgets["test_values"] == 1000 and budgets["test_large_outputs"] == 150, budgets
    assert budgets["test_linearity"] == 300 and budgets["test_batch_split"] == 200 and budgets["test_determinism"] == 200, budgets
