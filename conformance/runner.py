"""One check, end to end: translate the case, call the target in its worker, compute the oracle's
answer and bound, compare, record.

The path of every check: a drawn :class:`~conformance.cases.Case` (or a
:class:`~conformance.cases.NativeCase` in a dialect's own terms) -> the variant's native parameters
(``TargetLane.api.native``, here in the test process) -> the call in the framework's worker, on the
operands ``conformance.operands`` makes -> the oracle's answer and per-element bound on exactly the
operands the framework received (already rounded to the lane's dtype) -> a
:class:`~conformance.checks.Verdict` for the test to assert on -> a
:class:`~conformance.records.Record` of the same check, handed to ``emit`` (the plugin). Integer cases
are exact wherever every partial sum is representable.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

import oracles
from oracles.bounds import sum_bound
from oracles.dialects import EmptyOutput, NotExpressible, Rejected
from oracles.epilogues import apply_epilogue, epilogue_bound
from oracles.gradients import input_gradient, weight_gradient
from reports.discrepancies import mode_verdict

from . import buckets, check_kinds, checks, operands, results, standalone
from .cases import Case, NativeCase
from .lanes import TargetLane
from .memo import CallMemo
from .records import Record
from .targets.base import FrameworkError, NotApplicable, Unsupported
from .worker import Crash, Timeout

UNJUDGED = object()  # ``_call``'s ``expect`` for a result judged by its check (a pair of gradients) or not at all (it should raise)

# Significand bits, implicit bit included: integers up to 2**p are exact (TF32 keeps float16's 11).
SIGNIFICAND_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8, "tf32": 11}


def _checked(method):
    """A check's records are emitted once it is over, so that a compiled failure can first be placed:
    the same case re-run eagerly (and in the variant's ``diagnostic_modes``, torch's ``aot_eager``),
    each outcome kept in ``Record.modes`` and said in the message. A disagreement between one
    framework's modes is a finding of its own. Only hypothesis's final example is re-run (shrinking
    calls a failing test many times), and the re-runs emit nothing."""

    @functools.wraps(method)
    def run(self, target, case, *args, **kwargs):
        if self._pending is not None:  # inside a re-run: the outer check emits
            return method(self, target, case, *args, **kwargs)
        self._pending = []
        try:
            result = method(self, target, case, *args, **kwargs)
            pending = self._pending
        finally:
            self._pending = None
        if target.lane.mode != "eager" and any(v.failed for _, v in pending) and self.final():
            modes = self._rerun(method, target, case, *args, **kwargs)
            for record, verdict in pending:
                if verdict.failed:
                    record.modes = modes
                    record.message = verdict.message = f"{verdict.message} | {mode_verdict(modes)}"
        for record, verdict in pending:
            self.emit(record, verdict)
        return result

    return run


class Runner:
    def __init__(self, pool, emit, known=None, environment_keys=None, final=lambda: True, implementations=None):
        """``emit(record, verdict)`` receives every check; ``final()`` says whether this is hypothesis's
        final example (only then is a compiled failure re-run in the other modes). ``environment_keys``
        and ``implementations``: per worker, its support key and (``--impl``) its implementation's name."""
        self.pool, self.emit, self.known, self.final = pool, emit, known, final
        self.environment_keys = environment_keys or {}
        self.implementations = implementations or {}
        self.memo = CallMemo()
        self.raised = buckets.Raised()
        self._pending = None

    def start_test(self) -> None:
        """A new test begins: crashes remembered in the last one no longer stop its examples (see ``memo``),
        and its failures get their own classes again (``buckets.Raised``)."""
        self.memo.reset()
        self.raised = buckets.Raised()

    # -- checks --------------------------------------------------------------------------------

    @_checked
    def forward(self, target: TargetLane, case: Case, check: str = check_kinds.FORWARD) -> checks.Verdict:
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        native, verdict = self._translate(target, case)
        if verdict is None:
            actual, verdict = self._call(target, case, "call", native, x, w, bias, case.groups, expect=_output_shape(case))
        if verdict is None:
            expected, bound = self._expected(case, x, w, bias, target.lane)
            verdict = checks.compare(actual, expected, bound, self._context(target, case))
        return self._finish(check, target, case, verdict, native)

    @_checked
    def native(self, target: TargetLane, case: NativeCase, epilogue: str | None = None) -> checks.Verdict:
        """A configuration in the dialect's own terms: it raises where the dialect says it rejects, and
        otherwise has the documented shape and the oracle's values.

        ``epilogue`` (``"relu"`` or ``"sigmoid"``: no operand, so invalid configurations can carry one
        too) runs in the same call: a compiler that fuses it must still reject what the convolution
        alone rejects. An empty output may be returned or raised, but a compiled lane must do what the
        eager lane does with it: a disagreement between modes is a finding."""
        parameters = case.parameters
        recorded = parameters if epilogue is None else {**parameters, "epilogue": epilogue}
        canonical = rejected = empty = None
        try:
            canonical = case.canonical()
        except Rejected as error:
            rejected = str(error)
        except EmptyOutput as error:  # an empty output: the framework may return it or raise
            empty = str(error)
        except NotExpressible as error:  # not a configuration of this API at all (e.g. groups where it has none)
            return self._finish(check_kinds.NATIVE, target, case, checks.Verdict(checks.NOT_APPLICABLE, str(error)), recorded)
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        context = self._context(target, case) + ("" if epilogue is None else f" then {epilogue}")
        call = {} if epilogue is None else {"epilogue": (epilogue, None)}
        raised = detail = None
        if canonical is not None:
            expect = _output_shape(canonical)
        else:  # an empty output has whatever shape the framework gives it; a rejected one's result is wrong as it is
            expect = None if empty is not None else UNJUDGED
        try:
            actual, verdict = self._call(target, case, "call", parameters, x, w, bias, case.groups, expect=expect, raising=True, **call)
        except FrameworkError as error:
            actual, verdict, raised, detail = None, None, f"{error.kind}: {error.message}", error.detail
        if verdict is not None:
            return self._finish(check_kinds.NATIVE, target, case, verdict, recorded)
        if empty is not None:
            fine = raised is not None or actual.size == 0
            verdict = checks.Verdict(checks.PASS if fine else checks.SHAPE_MISMATCH, "" if fine else f"out.shape={np.shape(actual)}, but should be empty ({empty}) [{context}]")
            if fine and target.lane.mode != "eager":
                verdict = self._empty_as_eager(target, case, x, w, bias, raised, call, context) or verdict
        elif rejected is not None or raised is not None:
            verdict = checks.expect_error(raised, rejected, context)
            if verdict.failed:  # the whole text only where it explains a failure: a passing rejection's would bloat the records
                verdict.detail = detail or ""
        else:
            expected, bound = self._expected(canonical, x, w, bias, target.lane)
            if epilogue is not None:
                expected, bound = apply_epilogue(epilogue, expected), epilogue_bound(epilogue, expected, bound, dtype=target.lane.dtype)
            verdict = checks.compare(actual, expected, bound, context)
        return self._finish(check_kinds.NATIVE, target, case, verdict, recorded)

    def _empty_as_eager(self, target, case, x, w, bias, raised, call, context) -> checks.Verdict | None:
        """An ``ERROR_MISMATCH`` where a compiled lane returned an empty output that eager raises for, or
        raised where eager returns one; None where they agree (or eager could not be asked)."""
        eager = dataclasses.replace(target, lane=dataclasses.replace(target.lane, mode="eager"))
        try:
            _, verdict = self._call(eager, case, "call", case.parameters, x, w, bias, case.groups, expect=None, raising=True, **call)
            eager_raised = None
        except FrameworkError as error:
            verdict, eager_raised = None, f"{error.kind}: {error.message}"
        if verdict is not None or (raised is None) == (eager_raised is None):
            return None
        if raised is None:
            return checks.Verdict(checks.ERROR_MISMATCH, f"returned an empty output, but eager raises {eager_raised}: the modes disagree [{context}]")
        return checks.Verdict(checks.ERROR_MISMATCH, f"raised {raised}, but eager returns an empty output: the modes disagree [{context}]")

    @_checked
    def gradients(self, target: TargetLane, case: Case) -> list[checks.Verdict]:
        """d x and d w of ``sum(upstream * y)`` by the framework's autodiff, against the oracle's gradients."""
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        upstream = operands.upstream(case, _output_shape(case), target.lane.dtype)
        native, verdict = self._translate(target, case)
        if verdict is None:
            result, verdict = self._call(target, case, "gradients", native, x, w, bias, case.groups, upstream, expect=UNJUDGED, elements=x.size + w.size)
        # Each gradient judged on its own: a bad d x must not hide the verdict on d w.
        judged = [verdict, dataclasses.replace(verdict)] if verdict is not None else results.judge_each(result, (x.shape, w.shape), self._context(target, case), ("dx", "dw"))
        kw = case.oracle_kwargs()
        verdicts = []
        for index, (check, expected_of, terms) in enumerate((
            (check_kinds.GRADIENT_INPUT, lambda a, b: input_gradient(a, b, case.input_size, **kw), case.out_per_group * int(np.prod(case.kernel_size))),
            (check_kinds.GRADIENT_WEIGHT, lambda a, b: weight_gradient(a, b, case.kernel_size, **kw), (case.batch or 1) * int(np.prod(case.input_size))),
        )):
            if judged[index] is None:
                first, second = (upstream, w) if index == 0 else (x, upstream)
                expected = expected_of(first.astype(np.float64), second.astype(np.float64))
                magnitude = expected_of(np.abs(first.astype(np.float64)), np.abs(second.astype(np.float64)))
                bound = self._bound(magnitude, terms, target.lane, case.values)
                this = checks.compare(result[index], expected, bound, self._context(target, case) + f" {check}")
            else:
                this = judged[index]
            verdicts.append(self._finish(check, target, case, this, native))
        return verdicts

    @_checked
    def epilogue(self, target: TargetLane, case: Case, name: str) -> checks.Verdict:
        """``name(conv_transpose(...))`` computed by the framework in one call (where a compiler may fuse
        the epilogue into the convolution) against the oracle followed by the same epilogue in float64,
        within the bound carried through the epilogue (``oracles.epilogue_bound``). The ``bias``
        epilogue adds the bias as an op of its own after a convolution without one."""
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        shape = _output_shape(case)
        residual = operands.residual(case, shape, target.lane.dtype) if name == "residual" else None
        conv_bias, operand = (None, bias) if name == "bias" else (bias, residual)
        if name == "scale":
            operand = operands.scale(case, target.lane.dtype)
        native, verdict = self._translate(target, case)
        if verdict is None and name not in target.api.epilogues:
            verdict = checks.Verdict(checks.NOT_APPLICABLE, f"{target.name}: no {name} epilogue")
        if verdict is None:
            actual, verdict = self._call(target, case, "call", native, x, w, conv_bias, case.groups, expect=shape, epilogue=(name, operand))
        if verdict is None:
            exact, bound = self._expected(case, x, w, conv_bias, target.lane)
            extra = {}
            if name == "bias":
                extra["bias"] = bias.astype(np.float64).reshape((-1,) + (1,) * case.ndim)
            elif name == "residual":
                extra["residual"] = residual.astype(np.float64)
            elif name == "scale":
                extra["scale"] = operand.astype(np.float64).reshape((-1,) + (1,) * case.ndim)
            expected = apply_epilogue(name, exact, **extra)
            bound = epilogue_bound(name, exact, bound, dtype=target.lane.dtype, **extra)
            verdict = checks.compare(actual, expected, bound, self._context(target, case) + f" then {name}")
        return self._finish(check_kinds.epilogue_check(name), target, case, verdict, native)

    def _rerun(self, method, target, case, *args, **kwargs) -> dict:
        """``{mode: outcome}`` of the same check on the same case in the eager mode and the variant's
        diagnostic modes; a re-run's own records are dropped."""
        outcomes = {}
        for mode in ("eager", *target.api.diagnostic_modes):
            other = dataclasses.replace(target, lane=dataclasses.replace(target.lane, mode=mode))
            self._pending = []
            try:
                result = method(self, other, case, *args, **kwargs)
            finally:
                self._pending = None
            verdicts = result if isinstance(result, list) else [result]
            failed = [v.outcome for v in verdicts if v.failed]
            outcomes[mode] = failed[0] if failed else verdicts[0].outcome
        return outcomes

    @_checked
    def linearity(self, target: TargetLane, case: Case) -> checks.Verdict:
        """f(x1 + x2) against f(x1) + f(x2) (no bias); the rounding of x1 + x2 into the lane's dtype is accounted for."""
        x1, w, _ = operands.for_lane(case, target.lane.dtype)
        x2 = operands.second_input(case, x1.shape, target.lane.dtype)
        total = operands.lane_values(x1.astype(np.float64) + x2, target.lane.dtype)
        native, verdict = self._translate(target, case)
        outputs = []
        for x in (x1, x2, total):
            if verdict is None:
                out, verdict = self._call(target, case, "call", native, x, w, None, case.groups, expect=_output_shape(case))
            if verdict is not None:
                return self._finish(check_kinds.LINEARITY, target, case, verdict, native)
            outputs.append(np.asarray(out, dtype=np.float64))
        kw = case.oracle_kwargs()
        bound = sum(self._expected(case, x, w, None, target.lane)[1] for x in (x1, x2, total))
        bound = bound + oracles.conv_transpose(np.abs(total.astype(np.float64) - x1 - x2), np.abs(w), **kw)
        verdict = checks.compare(outputs[2], outputs[0] + outputs[1], bound, self._context(target, case) + " f(x1+x2) vs f(x1)+f(x2)")
        return self._finish(check_kinds.LINEARITY, target, case, verdict, native)

    @_checked
    def batch_split(self, target: TargetLane, case: Case) -> checks.Verdict:
        """Each sample of a batched call against the same sample called alone."""
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        native, verdict = self._translate(target, case)
        if verdict is None:
            whole, verdict = self._call(target, case, "call", native, x, w, bias, case.groups, expect=_output_shape(case))
        if verdict is None:
            keep = bool(target.space.get("batched"))  # an implementation that declares batched inputs only: batches of one
            single = dataclasses.replace(case, batch=1 if keep else None)
            parts = []
            for sample in x:
                part, verdict = self._call(target, case, "call", native, sample[np.newaxis] if keep else sample, w, bias, case.groups,
                                           expect=_output_shape(single))
                if verdict is not None:
                    break
                parts.append(np.asarray(part[0] if keep else part, dtype=np.float64))
        if verdict is None:
            bound = self._expected(case, x, w, bias, target.lane)[1] * 2
            verdict = checks.compare(np.asarray(whole), np.stack(parts), bound, self._context(target, case) + " batch vs per sample")
        return self._finish(check_kinds.BATCH_SPLIT, target, case, verdict, native)

    @_checked
    def determinism(self, target: TargetLane, case: Case) -> checks.Verdict:
        """Two identical calls return identical bits."""
        x, w, bias = operands.for_lane(case, target.lane.dtype)
        native, verdict = self._translate(target, case)
        if verdict is None:
            first, verdict = self._call(target, case, "call", native, x, w, bias, case.groups, expect=_output_shape(case))
        if verdict is None:
            second, verdict = self._call(target, case, "call", native, x, w, bias, case.groups, expect=_output_shape(case))
        if verdict is None:
            verdict = checks.compare_exact(second, np.asarray(first, dtype=np.float64), self._context(target, case) + " second call")
        return self._finish(check_kinds.DETERMINISM, target, case, verdict, native)

    def agreement(self, targets, parameters, case: NativeCase) -> checks.Verdict:
        """Dialects that claim the same 'SAME' meaning give the same numbers on the same operands.

        ``targets`` and ``parameters`` pair each target lane with its native parameters; each result is
        compared with the first within the sum of their bounds.
        """
        canonical = case.canonical()
        outputs = []
        for target, native in zip(targets, parameters):
            x, w, bias = operands.for_lane(case, target.lane.dtype)
            result, verdict = self._call(target, case, "call", native, x, w, bias, case.groups, expect=_output_shape(canonical))
            if verdict is not None:
                return self._finish(check_kinds.SAME_AGREEMENT, target, case, verdict, native)
            outputs.append(np.asarray(result, dtype=np.float64))
        bound = 2 * self._expected(canonical, x, w, bias, targets[0].lane)[1]
        names = " vs ".join(t.name for t in targets)
        verdict = checks.Verdict(checks.PASS)
        for other in outputs[1:]:
            verdict = checks.compare(other, outputs[0], bound, f"{names} on {case.parameters}")
            if verdict.failed:
                break
        return self._finish(check_kinds.SAME_AGREEMENT, targets[-1], case, verdict, dict(case.parameters))

    # -- helpers -------------------------------------------------------------------------------

    def _translate(self, target: TargetLane, case: Case):
        """``(native parameters, None)``, or ``(None, verdict)`` where the variant cannot express the case."""
        try:
            return target.api.native(case), None
        except NotApplicable as error:
            return None, checks.Verdict(checks.NOT_APPLICABLE, str(error))

    def _call(self, target, case, method, native, *args, expect, elements=None, raising=False, epilogue=None):
        """``(result, None)``, or ``(None, verdict)`` for a call that raised, crashed, timed out or does not
        apply, or whose result is not what the check can compare. With ``raising``, the framework's own
        errors propagate (checks that expect some).

        Every result is judged here, once for every check (``results.judge``): a real floating array of
        shape ``expect`` (any shape for None; ``UNJUDGED``: the caller judges). The worker sends back no
        array of more than ``results.element_limit`` of the expected elements (``elements``, by default
        the size of ``expect``).

        Within one test, a case whose call crashed or timed out is not called again and no case drawn
        after it is called at all (see :mod:`conformance.memo`)."""
        key = (target, case, None if epilogue is None else epilogue[0])
        remembered = self.memo.before(key)
        if remembered is not None:
            return None, remembered
        if elements is None and isinstance(expect, tuple):
            elements = int(np.prod(expect, dtype=np.int64))
        limit = None if elements is None else results.element_limit(elements)
        try:
            kwargs = {} if epilogue is None else {"epilogue": epilogue}
            result, verdict = self.pool.call(target.worker, method, target.variant, native, *args, target.lane, max_elements=limit, **kwargs), None
        except FrameworkError as error:
            if raising:
                self.memo.after(key, None)
                raise
            result, verdict = None, self._failure(error, self._context(target, case))
        except (NotApplicable, Unsupported, Crash, Timeout) as error:
            result, verdict = None, self._failure(error, self._context(target, case))
        self.memo.after(key, verdict)
        if verdict is None and expect is not UNJUDGED:
            verdict = results.judge(result, expect, self._context(target, case))
        return (None, verdict) if verdict is not None else (result, None)

    @staticmethod
    def _failure(error, context) -> checks.Verdict:
        if isinstance(error, NotApplicable):
            return checks.Verdict(checks.NOT_APPLICABLE, str(error))
        if isinstance(error, Unsupported):
            return checks.Verdict(checks.UNSUPPORTED, str(error))
        if isinstance(error, Crash):
            return checks.Verdict(checks.CRASH, f"{error} [{context}]")
        if isinstance(error, Timeout):
            return checks.Verdict(checks.TIMEOUT, f"{error} [{context}]")
        return checks.Verdict(checks.ERROR_MISMATCH, f"raised {error.kind}: {error.message}, but the configuration is valid [{context}]",
                              detail=error.detail)

    def _expected(self, case, x, w, bias, lane):
        kw = case.oracle_kwargs()
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        b64 = None if bias is None else bias.astype(np.float64)
        expected = oracles.conv_transpose(x64, w64, b64, **kw)
        magnitude = oracles.conv_transpose(np.abs(x64), np.abs(w64), **kw)
        bias_magnitude = 0.0 if b64 is None else np.abs(b64).reshape((-1,) + (1,) * case.ndim)
        terms = case.in_per_group * int(np.prod(case.kernel_size)) + (bias is not None)
        return expected, self._bound(magnitude, terms, lane, case.values, bias_magnitude)

    @staticmethod
    def _bound(magnitude, terms, lane, values, bias_magnitude=0.0):
        if values == "integer":
            bits = SIGNIFICAND_BITS["tf32" if lane.precision == "tf32" else lane.dtype]
            if np.max(magnitude + bias_magnitude, initial=0.0) <= 2.0**bits:
                return np.zeros(np.shape(magnitude))  # every partial sum is an exactly representable integer
        own = sum_bound(magnitude, terms, dtype="float64", bias_magnitude=bias_magnitude)
        return own + sum_bound(magnitude, terms, dtype=lane.dtype, precision=lane.bound_precision, bias_magnitude=bias_magnitude)

    @staticmethod
    def _context(target, case) -> str:
        where = target.description
        if isinstance(case, NativeCase):
            return f"{where}: {case.parameters}"
        return f"{where}: stride={case.stride}, padding={case.padding}, output_padding={case.output_padding}, dilation={case.dilation}, groups={case.groups}"

    def _finish(self, check, target, case, verdict, native=None) -> checks.Verdict:
        repro = ""
        if verdict.failed and native is not None:  # a standalone script: NumPy and the framework (conformance.standalone)
            try:
                repro = standalone.script(check, target, case, native, verdict.message)
            except Exception as error:  # a repro the variant cannot write must not cost the finding's record
                repro = f"# no repro: {target.name}.repro raised {type(error).__name__}: {error}"
        record = Record(
            check=check, target=target.name, framework=target.framework, version=target.version,
            device=target.lane.device, dtype=target.lane.dtype, precision=target.lane.precision, backend=target.lane.backend, mode=target.lane.mode,
            outcome=verdict.outcome, case=case.to_data(), native=native,
            message=verdict.message, max_abs_error=verdict.max_abs_error, bound=verdict.bound, ratio=verdict.ratio,
            worst_index=verdict.worst_index, first_differences=verdict.first_differences, ratio_map=verdict.ratio_map, repro=repro,
            environment=self.environment_keys.get(target.worker, ""), detail=verdict.detail,
            implementation=self.implementations.get(target.worker, ""),
        )
        if verdict.failed:  # bucketed by what failed, before a known entry renames the outcome
            record.bucket = str(buckets.signature(verdict.outcome, check, case, unusable=verdict.unusable))
            verdict.bucket = self.raised(record.bucket)  # the class the test raises: shrunk apart, or with the further ones
        if verdict.failed and self.known is not None:
            entry = self.known.match(record)
            if entry is not None:
                verdict.outcome = record.outcome = checks.KNOWN
                record.known = entry.id
                verdict.message = f"known discrepancy {entry.id} ({entry.link}): {verdict.message}"
        if self._pending is not None:
            self._pending.append((record, verdict))
        else:
            self.emit(record, verdict)
        return verdict


def _output_shape(case: Case) -> tuple:
    """The shape of ``case``'s output."""
    return (() if case.batch is None else (case.batch,)) + (case.out_channels, *case.geometry.output_size)
