"""The contract of a user's implementation (``--impl``): its declared ``capabilities`` (validated when it
loads, and the only configurations drawn for it), ``conformance.Unsupported``, declared dtypes, its
name and version in the records and in known entries, the whole text of what it raises, and the
``--impl-*`` options. The array libraries (``--impl-arrays torch|jax``) and gradients are in
``test_impl_arrays.py``.

The suite runs as a user runs it (a subprocess per run), each run kept small: the ``ci`` profile (the
same draws every time), a few examples, ``-k`` to the tests that matter.
"""

import json
import re
from html import unescape as html_text
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings

from conformance import Capabilities, Unsupported
from conformance.strategies import batched_cases, lane_cases, large_cases
from conformance.targets import base as targets_base

from impl_runs import EXAMPLES, IMPLS, VALUES, run_suite, usage_error, written

pytest_plugins = ["pytester"]
EXAMPLE = EXAMPLES / "reference_impl.py"
GUARD = f"{IMPLS / 'contract_guard.py'}:conv_transpose"


def declare(monkeypatch, **capabilities):
    """What ``tests/impls/contract_guard.py`` declares (and polices) in the runs that follow."""
    monkeypatch.setenv("CONVT_TEST_CAPABILITIES", json.dumps(capabilities))


# ---- 1. capabilities are validated, in Python and when the implementation loads ---------------------


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"wings": 2}, "capabilities has no field 'wings'"),
        ({"ndims": (4,)}, "capabilities.ndims must name spatial ranks from 1, 2, 3"),
        ({"ndims": ()}, "capabilities.ndims"),
        ({"ndims": (True,)}, "capabilities.ndims"),
        ({"ndims": "2"}, "capabilities.ndims"),
        ({"ndims": None}, "capabilities.ndims must be a sequence"),
        ({"groups": "no"}, "capabilities.groups must be True or False"),
        ({"dilation": 0}, "capabilities.dilation must be True or False"),
        ({"negative_padding": None}, "capabilities.negative_padding"),
        ({"tf32": 1}, "capabilities.tf32"),
        ({"output_padding": "below_stride"}, "capabilities.output_padding must be one of none, below-stride"),
        ({"output_padding": None}, "capabilities.output_padding"),
        ({"output_padding": ["none"]}, "capabilities.output_padding"),
        ({"dtypes": ("float8",)}, "capabilities.dtypes must name dtypes from float16, bfloat16, float32, float64"),
        ({"dtypes": ()}, "capabilities.dtypes"),
        ({"dtypes": ("float32", "int8")}, "capabilities.dtypes"),
        ({"devices": ("tpu",)}, "capabilities.devices must name devices from cpu, gpu"),
        ({"devices": ()}, "capabilities.devices"),
        ({"gradients": "yes"}, "capabilities.gradients must be one of None, 'backward', 'autodiff'"),
        ({"gradients": True}, "capabilities.gradients"),
    ],
)
def test_capabilities_name_the_field_they_reject(fields, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        Capabilities.of(fields)
    if "wings" not in fields:  # the class itself, as an implementation spells it
        with pytest.raises(ValueError, match=re.escape(named)):
            Capabilities(**fields)


def test_capabilities_report_every_bad_field_and_take_their_plain_forms():
    with pytest.raises(ValueError) as caught:
        Capabilities(groups=1, devices=("tpu",))
    assert "capabilities.groups" in str(caught.value) and "capabilities.devices" in str(caught.value)
    with pytest.raises(ValueError, match="capabilities must be conformance.Capabilities or a dict; got str"):
        Capabilities.of("everything")
    assert Capabilities.of(None) == Capabilities()
    assert Capabilities(ndims=2, dtypes="float16") == Capabilities(ndims=(2,), dtypes=("float16",))
    narrow = Capabilities(ndims=[1, 2], dilation=False, output_padding="none", dtypes=["float16"])
    assert Capabilities.from_data(json.loads(json.dumps(narrow.to_data()))) == narrow
    assert Capabilities().space() == {"ndims": (1, 2, 3)} and Capabilities().declared() == []
    assert Unsupported is targets_base.Unsupported  # what the runtime catches is what authors import


@pytest.mark.parametrize(
    "declaration, message",
    [
        ('{"dilation": False, "wings": 2}', "--impl: bad.py:conv_transpose: capabilities has no field 'wings'"),
        ('{"dtypes": ["float8"]}', "--impl: bad.py:conv_transpose: capabilities.dtypes must name dtypes"),
        ('{"output_padding": ["none"]}', "--impl: bad.py:conv_transpose: capabilities.output_padding must be one of"),
        ('Capabilities(groups="no")', "capabilities.groups must be True or False; got 'no'"),
        ('"everything"', "capabilities must be conformance.Capabilities or a dict; got str"),
        ('Capabilities(gradients="backward")', "capabilities.gradients is 'backward' but the function has no callable 'backward' attribute"),
        ('Capabilities(gradients="autodiff")', "capabilities.gradients is 'autodiff', which needs --impl-arrays torch or jax"),
    ],
)
def test_an_implementation_with_bad_capabilities_is_a_one_line_usage_error(pytester, declaration, message):
    pytester.path.joinpath("bad.py").write_text(
        "import oracles\nfrom conformance import Capabilities\n\n"
        "def conv_transpose(x, w, bias, **kw):\n    return oracles.conv_transpose(x, w, bias, **kw).astype(x.dtype)\n\n"
        f"conv_transpose.capabilities = {declaration}\n")
    usage_error(run_suite(pytester, "bad.py:conv_transpose", "-k", VALUES), message)
    assert not (pytester.path / "out" / "records.jsonl").exists()


# ---- 2. the draws stay inside the declared space, and still reach its edges ------------------------

OP_LIMITS = {"none": lambda s, d: 0, "below-stride": lambda s, d: s - 1, "below-stride-or-dilation": lambda s, d: max(s, d) - 1,
             "any": lambda s, d: max(s, d) + 1}


class Dim(NamedTuple):
    """One spatial dim of a case as the implementation is called with it, and its output length."""

    i: int
    k: int
    s: int
    d: int
    before: int  # padding = (before, after)
    after: int
    op: int  # output_padding
    length: int


def dims(case):
    for i, k, s, d, (before, after), op in zip(case.input_size, case.kernel_size, case.stride, case.dilation, case.padding,
                                               case.output_padding):
        yield Dim(i, k, s, d, before, after, op, (i - 1) * s + d * (k - 1) + 1 - before - after + op)


def outside(case, declared: Capabilities) -> list[str]:
    """What of ``case`` (as the function is called with it) the declaration leaves out."""
    problems = []
    if case.ndim not in declared.ndims:
        problems.append("ndim")
    if not declared.dilation and max(case.dilation) > 1:
        problems.append("dilation")
    if case.groups > 1 and (not declared.groups or (case.ndim == 3 and not declared.groups_3d)):
        problems.append("groups")
    if not declared.unbatched and case.batch is None:
        problems.append("unbatched")
    if not declared.bias and case.bias:
        problems.append("bias")
    for dim in dims(case):
        if not declared.negative_padding and min(dim.before, dim.after) < 0:
            problems.append("negative padding")
        if not declared.asymmetric_padding and dim.before != dim.after:
            problems.append("asymmetric padding")
        if not 0 <= dim.op <= OP_LIMITS[declared.output_padding](dim.s, dim.d):
            problems.append("output_padding")
        if dim.length < 1:
            problems.append("empty output")
    assert [dim.length for dim in dims(case)] == list(case.geometry.output_size)  # the lengths above are the oracle's
    return problems


def draws(strategy, n=400) -> list:
    drawn = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def collect(case):
        drawn.append(case)

    collect()
    return drawn


def any_dim(cases, condition) -> bool:
    """Whether some :class:`Dim` of some case meets ``condition``."""
    return any(condition(dim) for case in cases for dim in dims(case))


# Per declaration, what its draws must still reach (the edges of the declared space).
NARROWINGS = {
    "2-D only": (Capabilities(ndims=(2,)), [
        lambda cases: any(max(c.dilation) > 1 for c in cases) and any(c.groups > 1 for c in cases),
        lambda cases: any_dim(cases, lambda dim: dim.before < 0 or dim.after < 0)]),
    "no dilation": (Capabilities(dilation=False), [
        lambda cases: any(max(c.stride) > 1 for c in cases), lambda cases: any_dim(cases, lambda dim: dim.op > 0)]),
    "no groups": (Capabilities(groups=False), [lambda cases: {c.ndim for c in cases} == {1, 2, 3}]),
    "no 3-D groups": (Capabilities(groups_3d=False), [
        lambda cases: any(c.ndim == 3 for c in cases) and any(c.groups > 1 and c.ndim < 3 for c in cases)]),
    "no negative padding": (Capabilities(negative_padding=False), [
        lambda cases: any_dim(cases, lambda dim: dim.before == 0 and dim.after == 0),
        lambda cases: any_dim(cases, lambda dim: dim.before > 0) and any_dim(cases, lambda dim: dim.after > 0),
        lambda cases: any_dim(cases, lambda dim: dim.op > 0 and dim.after == 0),  # the end extended by output_padding alone
        lambda cases: any_dim(cases, lambda dim: dim.before != dim.after)]),
    "symmetric padding": (Capabilities(asymmetric_padding=False), [
        lambda cases: any_dim(cases, lambda dim: dim.op > 0),  # symmetric pairs with an output padding
        lambda cases: any_dim(cases, lambda dim: dim.before < 0),  # negative, where allowed
        lambda cases: any_dim(cases, lambda dim: dim.before > 0 and dim.op > 0),
        lambda cases: any_dim(cases, lambda dim: dim.length == 1)]),  # a crop that leaves one output
    "symmetric, no negative padding": (Capabilities(asymmetric_padding=False, negative_padding=False), [
        lambda cases: any_dim(cases, lambda dim: dim.before > 0 and dim.op > 0)]),
    "output_padding none": (Capabilities(output_padding="none"), [
        lambda cases: any_dim(cases, lambda dim: dim.after < 0), lambda cases: any_dim(cases, lambda dim: dim.before != dim.after)]),
    "output_padding below stride": (Capabilities(output_padding="below-stride"), [
        lambda cases: any_dim(cases, lambda dim: dim.s >= 2 and dim.op == dim.s - 1)]),
    "output_padding below stride or dilation": (Capabilities(output_padding="below-stride-or-dilation"), [
        lambda cases: any_dim(cases, lambda dim: dim.op >= dim.s and dim.op == max(dim.s, dim.d) - 1)]),  # op >= s, by dilation
    "output_padding any": (Capabilities(output_padding="any"), [
        lambda cases: any_dim(cases, lambda dim: dim.op == max(dim.s, dim.d) + 1)]),
    "batched only": (Capabilities(unbatched=False), [
        lambda cases: any(c.batch == 1 for c in cases) and any(c.bias for c in cases)]),
    "no bias": (Capabilities(bias=False), [lambda cases: any(c.batch is None for c in cases)]),
    "all at once": (Capabilities(ndims=(1, 2), dilation=False, groups=False, negative_padding=False, asymmetric_padding=False,
                                 output_padding="below-stride", unbatched=False, bias=False), [
        lambda cases: any_dim(cases, lambda dim: dim.before > 0 and dim.op > 0), lambda cases: {c.ndim for c in cases} == {1, 2}]),
    "3-D only": (Capabilities(ndims=(3,), groups_3d=False), [lambda cases: any(max(c.stride) > 1 for c in cases)]),
}


@pytest.mark.parametrize("name", list(NARROWINGS))
def test_the_draws_stay_inside_the_declared_space_and_reach_its_edges(name):
    declared, edges = NARROWINGS[name]
    space = declared.space()
    cases = draws(lane_cases(space))
    for case in cases:
        assert not outside(case, declared), (outside(case, declared), case)
    for number, reached in enumerate(edges):
        assert reached(cases), f"{name}: edge {number} never drawn in {len(cases)} cases"
    # The other strategies the suite's tests draw from for a lane (long outputs, the batch split).
    for case in draws(large_cases(space), 60) + draws(batched_cases(space), 60):
        assert not outside(case, declared), (outside(case, declared), case)


def test_the_whole_space_is_drawn_without_a_declaration():
    """The narrowings above narrow something: undeclared, every one of them is left now and then."""
    cases = draws(lane_cases(Capabilities().space()))
    for narrowing, (declared, _) in NARROWINGS.items():
        if narrowing != "output_padding any":
            assert any(outside(case, declared) for case in cases), f"{narrowing}: never left without a declaration"


# ---- a whole run inside a declared contract -------------------------------------------------------

CONTRACTS = {
    "3-D, batched, no bias": dict(ndims=[3], dilation=False, groups_3d=False, negative_padding=False, output_padding="below-stride",
                                  unbatched=False, bias=False, gradients="backward"),
    "symmetric, no groups": dict(ndims=[1, 2], groups=False, asymmetric_padding=False, output_padding="none", gradients="backward"),
    "below stride or dilation": dict(ndims=[1], output_padding="below-stride-or-dilation", negative_padding=False),
}


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_every_call_of_a_run_stays_inside_the_declared_contract(pytester, monkeypatch, contract):
    """contract_guard.py raises on any call outside what it declares (forward, linearity, batch split,
    long outputs, its backward): the whole suite passes on it, checks every kind, and says what it declared."""
    declare(monkeypatch, **CONTRACTS[contract])
    result = run_suite(pytester, GUARD)
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert records and {r["outcome"] for r in records} <= {"pass", "not-applicable"}
    kinds = {"forward", "linearity", "batch-split", "determinism"}
    if CONTRACTS[contract].get("gradients"):
        kinds |= {"gradient-input", "gradient-weight"}
    assert {r["check"] for r in records} == kinds
    assert {len(r["case"]["input_size"]) for r in records} == set(CONTRACTS[contract]["ndims"])
    environment = next(iter(run["frameworks"].values()))
    assert Capabilities.from_data(environment["capabilities"]) == Capabilities.of(CONTRACTS[contract])
    html = (pytester.path / "out" / "report.html").read_text()
    contract_line = re.search(r"declared contract:</strong>([^<]*)<", html)
    contract_line = contract_line and html_text(contract_line.group(1))
    assert contract_line, "the environment table does not state the declared contract"
    for phrase in Capabilities.of(CONTRACTS[contract]).declared():
        assert phrase in contract_line, (phrase, contract_line)
    assert 'id="same"' not in html and "'SAME' conventions" not in html  # an implementation alone: no 'SAME' table


# ---- 3. Unsupported ----------------------------------------------------------------------------------


def test_a_configuration_the_implementation_raises_unsupported_for_is_recorded_as_unsupported(pytester):
    result = run_suite(pytester, f"{IMPLS / 'partial.py'}:no_dilation", "-k", VALUES, examples=15)
    assert result.ret == 0, result.stdout.str()[-3000:]
    _, records = written(pytester.path / "out")
    unsupported = [r for r in records if r["outcome"] == "unsupported"]
    assert unsupported and all(max(r["case"]["dilation"]) > 1 for r in unsupported)
    assert all("dilation > 1 is not implemented in this kernel" in r["message"] for r in unsupported), unsupported[0]["message"]
    assert {r["outcome"] for r in records} == {"pass", "unsupported"}
    assert all(max(r["case"]["dilation"]) == 1 for r in records if r["outcome"] == "pass")


def test_an_implementation_that_supports_nothing_fails_the_run(pytester):
    result = run_suite(pytester, f"{IMPLS / 'partial.py'}:never", "-k", VALUES)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no check ran (every check was unsupported): this run tested nothing*"])
    _, records = written(pytester.path / "out")
    assert records and {r["outcome"] for r in records} == {"unsupported"}


def test_not_implemented_error_is_a_failure_not_unsupported(pytester):
    result = run_suite(pytester, f"{IMPLS / 'partial.py'}:not_implemented", "-k", VALUES, "--dtypes", "float64", examples=15, shrink=False)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    _, records = written(pytester.path / "out")
    failed = [r for r in records if r["outcome"] == "error-mismatch"]
    assert failed and all("raised NotImplementedError: dilation, but the configuration is valid" in r["message"] for r in failed)
    assert all(max(r["case"]["dilation"]) > 1 for r in failed)
    assert "unsupported" not in {r["outcome"] for r in records}


# ---- 4. declared dtypes --------------------------------------------------------------------------------


def test_declared_half_precision_runs_on_the_cpu_and_only_declared_gradients_are_checked(pytester, monkeypatch):
    declare(monkeypatch, dtypes=["float16", "float32"], devices=["cpu", "gpu"])
    result = run_suite(pytester, GUARD, "-k", f"({VALUES}) or test_gradients")
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert {(r["dtype"], r["device"]) for r in records} == {("float16", "cpu"), ("float32", "cpu")}
    assert {r["check"] for r in records} == {"forward"}  # no gradients declared: no gradient test ran
    result.stdout.fnmatch_lines(["test_gradients.py s *"])  # the GPU lane below only, skipped
    reasons = [lane["reason"] for lane in run["skipped_lanes"]]
    assert any("declares GPUs, but --impl-arrays numpy hands it host arrays: use --impl-arrays torch or jax" in r for r in reasons), reasons


def test_a_dtype_the_implementation_does_not_declare_is_a_usage_error(pytester):
    usage_error(run_suite(pytester, f"{EXAMPLE}:conv_transpose", "--dtypes", "float16"),
                "nothing to test with --dtypes float16: the selected targets compute in float32, float64 on the devices present")


# ---- 6. name and version --------------------------------------------------------------------------------


def test_the_modules_version_and_the_implementations_name_are_in_every_record(pytester, monkeypatch):
    declare(monkeypatch)
    result = run_suite(pytester, GUARD, "-k", VALUES)
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert records and {(r["version"], r["implementation"]) for r in records} == {("2.5.0", "contract_guard.conv_transpose")}
    (worker, environment), = run["frameworks"].items()
    assert worker == f"impl:{GUARD}"  # the defaults leave the worker's name alone
    assert (environment["version"], environment["name"], environment["implementation"]) == ("2.5.0", "contract_guard.conv_transpose", GUARD)
    assert run["options"]["impl_version"] is None and run["options"]["impl_arrays"] == "numpy"
    # --max-examples holds under --hypothesis-profile ci (hypothesis's plugin once reloaded the profile over it).
    assert run["hypothesis"]["max_examples"] == 5 and run["hypothesis"]["derandomize"] is True


def test_impl_version_overrides_the_modules(pytester, monkeypatch):
    declare(monkeypatch)
    result = run_suite(pytester, GUARD, "--impl-version", "9.9.1", "-k", VALUES)
    assert result.ret == 0, result.stdout.str()[-3000:]
    run, records = written(pytester.path / "out")
    assert records and {r["version"] for r in records} == {"9.9.1"}
    (worker, environment), = run["frameworks"].items()
    assert worker == f"impl:{GUARD}?version=9.9.1" and environment["version"] == "9.9.1"
    assert run["options"]["impl_version"] == "9.9.1"
    result.stdout.fnmatch_lines(["*version=9.9.1, name=contract_guard.conv_transpose*"])


KNOWN = """
[[discrepancy]]
id = "lost-last-bias"
framework = "impl"
implementation = "{implementation}"
versions = ">=1.0,<2"
targets = ["impl.function"]
checks = ["forward"]
reason = "the last output channel's bias is dropped"
link = "https://example.org/issues/1"

[[discrepancy]]
id = "a-torch-finding"
framework = "torch"
versions = ">=2"
reason = "another framework's"
link = "https://example.org/issues/2"
"""


@pytest.mark.parametrize(
    "version, implementation, matches",
    [
        ("1.2.0", "missing_bias.conv_transpose", True),
        ("2.0", "missing_bias.conv_transpose", False),
        ("1.2.0", "other.conv_transpose", False),
    ],
    ids=["matching", "another-version", "another-implementation"],
)
def test_a_known_entry_for_an_implementation_matches_its_name_and_version(pytester, version, implementation, matches):
    pytester.path.joinpath("known.toml").write_text(KNOWN.format(implementation=implementation))
    result = run_suite(pytester, f"{IMPLS / 'missing_bias.py'}:conv_transpose", "--impl-version", version, "--known-discrepancies", "known.toml",
                       "-k", "test_values and not spellings", "--dtypes", "float64", examples=20, shrink=matches)
    _, records = written(pytester.path / "out")
    outcomes = {r["outcome"] for r in records}
    if matches:
        assert result.ret == 0, result.stdout.str()[-3000:]
        known = [r for r in records if r["outcome"] == "known"]
        assert known and {r["known"] for r in known} == {"lost-last-bias"} and "mismatch" not in outcomes
        assert all(r["case"]["bias"] for r in known)
        html = (pytester.path / "out" / "report.html").read_text()
        table = html[html.index('id="known-table"'):]
        assert "lost-last-bias" in table and "a-torch-finding" not in table  # only the frameworks in the run
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert "mismatch" in outcomes and "known" not in outcomes


def test_an_implementation_entry_without_implementation_is_rejected(pytester):
    entry = KNOWN.split("[[discrepancy]]")[1].replace('implementation = "{implementation}"\n', "")
    pytester.path.joinpath("known.toml").write_text("[[discrepancy]]" + entry)
    usage_error(run_suite(pytester, f"{EXAMPLE}:conv_transpose", "--known-discrepancies", "known.toml"),
                "discrepancy 'lost-last-bias': framework \"impl\" needs implementation")


# ---- 7. the whole error text ---------------------------------------------------------------------------


def test_the_whole_error_text_is_recorded_and_reported(pytester, capsys):
    from convt.cli import main

    result = run_suite(pytester, f"{IMPLS / 'partial.py'}:long_error", "-k", VALUES, "--dtypes", "float64", shrink=False)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    _, records = written(pytester.path / "out")
    failed = [r for r in records if r["outcome"] == "error-mismatch"]
    assert failed
    for record in failed:
        assert "raised RuntimeError: Exception from src/core.cpp:117:" in record["message"]
        assert "the real reason" not in record["message"]
        assert record["detail"] == "Exception from src/core.cpp:117:\nthe real reason: shape mismatch"
    report = pytester.path / "out" / "report.html"
    report.unlink()
    assert main(["report", str(pytester.path / "out")]) == 0
    capsys.readouterr()
    details = re.findall(r'<details class="detail">(.*?)</details>', report.read_text(), re.S)
    assert details and all("the real reason: shape mismatch" in d for d in details), details


# ---- 8. the --impl-* options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "impl, args, message",
    [
        (None, ["--impl-arrays", "torch"], "--impl-arrays applies to --impl, which is not given"),
        (None, ["--impl-version", "1.0"], "--impl-version applies to --impl, which is not given"),
        (EXAMPLE, ["--impl-arrays", "cupy"], "--impl-arrays: unknown array library 'cupy'; choose from numpy,torch,jax"),
        (EXAMPLE, ["--impl-version", ""], "--impl-version: empty; give the version to record"),
        (EXAMPLE, ["--impl-version", "  "], "--impl-version: empty"),
    ],
)
def test_misused_impl_options_are_usage_errors(pytester, impl, args, message):
    usage_error(run_suite(pytester, impl and f"{impl}:conv_transpose", *args), message)


EXAMPLE_ENTRY = """
[[discrepancy]]
id = "lost-last-bias"
framework = "impl"
implementation = "missing_bias.conv_transpose"
versions = ">=1"
checks = ["forward"]
reason = "the last output channel's bias is dropped"
link = "https://example.org/issues/1"
example = { variant = "function", dtype = "float64", batch = 1, groups = 1, in_per_group = 1, out_per_group = 3, input_size = [2], kernel_size = [2], bias = true, seed = 0, stride = [1], dilation = [1], padding = [[0, 0]], output_padding = [0] }
"""


@pytest.mark.parametrize("fixed", [False, True], ids=["still-wrong", "fixed"])
def test_an_implementation_entry_s_example_runs_and_turns_red_once_fixed(pytester, fixed):
    """The example of an entry in the run's own known file runs on the implementation as a strict xfail:
    it passes while the defect reproduces, and fails, saying so, once the implementation is fixed (here:
    the reference implementation under the same name)."""
    pytester.path.joinpath("known.toml").write_text(EXAMPLE_ENTRY)
    impl = IMPLS / "missing_bias.py"
    if fixed:
        impl = pytester.path / "missing_bias.py"
        impl.write_text((EXAMPLES / "reference_impl.py").read_text())
    result = run_suite(pytester, f"{impl}:conv_transpose", "--impl-version", "1.0", "--known-discrepancies", "known.toml",
                       "-k", "test_known_discrepancy_still_reproduces")
    outcomes = result.parseoutcomes()
    if fixed:
        assert result.ret == pytest.ExitCode.TESTS_FAILED and outcomes.get("failed") == 1
        result.stdout.fnmatch_lines(["*known discrepancy lost-last-bias no longer reproduces*"])
    else:
        assert result.ret == 0 and outcomes.get("passed") == 1, result.stdout.str()[-2000:]
