"""One check, end to end: call a target in its worker, compute the oracle's answer and bound, compare, record.

The runner returns a :class:`~conformance.checks.Verdict` for the test to assert on, and hands a
:class:`~conformance.records.Record` of the same check to ``emit`` (the plugin). Expected values come
from the oracle on exactly the operands the framework received (already rounded to the lane's dtype);
bounds are the oracle's per-element error bounds for that dtype and precision, plus the oracle's own
float64 error. Integer cases are exact wherever every partial sum is representable.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import asdict, dataclass, field

import numpy as np

import oracles
from oracles.bounds import sum_bound
from oracles.dialects import NotExpressible, Rejected, get_dialect
from oracles.gradients import input_gradient, weight_gradient

from . import checks, results
from .cases import Case, NativeCase, lane_values, operands
from .memo import CallMemo
from .records import Record
from .targets.base import FrameworkError, Lane, NotApplicable, Unsupported
from .worker import Crash, Timeout

UNJUDGED = object()  # ``_call``'s ``expect`` for a result judged by its check (a pair of gradients) or not at all (it should raise)

# Significand bits, implicit bit included: integers up to 2**p are exact (TF32 keeps float16's 11).
SIGNIFICAND_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8, "tf32": 11}


@dataclass(frozen=True)
class TargetLane:
    """A framework variant on one lane: the unit a test is parametrized over."""

    worker: str  # the worker's target name: torch, tensorflow, jax, impl:SPEC
    framework: str
    variant: str
    lane: Lane
    version: str = ""
    space: dict = field(default_factory=dict, compare=False, hash=False)  # what the lane can run (Target.space)

    @property
    def name(self) -> str:
        return f"{self.framework}.{self.variant}"

    @property
    def id(self) -> str:
        return f"{self.name}-{self.lane_id}"

    @property
    def lane_id(self) -> str:
        """``cpu-onednn-float32``, ``cuda:0-cudnn-float32-tf32``: device, backend (unless the target has
        one path), dtype, precision (unless default)."""
        lane = self.lane
        backend = "" if lane.backend == "default" else f"-{lane.backend}"
        return f"{lane.device}{backend}-{lane.dtype}" + ("" if lane.precision == "default" else f"-{lane.precision}")


class Runner:
    def __init__(self, pool, emit, known=None, environment_keys=None):
        self.pool, self.emit, self.known = pool, emit, known
        self.environment_keys = environment_keys or {}
        self.memo = CallMemo()

    def start_test(self) -> None:
        """A new test begins: crashes remembered in the last one no longer stop its examples (see ``memo``)."""
        self.memo.reset()

    # -- checks --------------------------------------------------------------------------------

    def forward(self, target: TargetLane, case: Case, check: str = "forward") -> checks.Verdict:
        x, w, bias = operands(case, target.lane.dtype)
        actual, verdict = self._call(target, case, "forward", target.variant, case, x, w, bias, target.lane, expect=_output_shape(case))
        if verdict is None:
            expected, bound = self._expected(case, x, w, bias, target.lane)
            verdict = checks.compare(actual, expected, bound, self._context(target, case))
        return self._finish(check, target, case, verdict)

    def native(self, target: TargetLane, case: NativeCase) -> checks.Verdict:
        """A configuration in the dialect's own terms: it raises where the dialect says it rejects, and
        otherwise has the documented shape and the oracle's values."""
        dialect = get_dialect(case.dialect)
        parameters = case.parameters
        extra = {"groups": case.groups} if "groups" in inspect.signature(dialect.to_canonical).parameters else {}
        geometry = rejected = empty = None
        try:
            geometry = dialect.to_canonical(case.input_size, case.kernel_size, **extra, **parameters)
        except Rejected as error:
            rejected = str(error)
        except NotExpressible as error:  # an empty output: the framework may return it or raise
            empty = str(error)
        x, w, bias = operands(case, target.lane.dtype)
        context = self._context(target, case)
        raised = None
        if geometry is not None:
            expect = _output_shape(case, geometry)
        else:  # an empty output has whatever shape the framework gives it; a rejected one's result is wrong as it is
            expect = None if empty is not None else UNJUDGED
        try:
            actual, verdict = self._call(target, case, "forward_native", target.variant, parameters, x, w, bias, case.groups, target.lane, expect=expect, raising=True)
        except FrameworkError as error:
            actual, verdict, raised = None, None, f"{error.kind}: {error.message}"
        if verdict is not None:
            return self._finish("native", target, case, verdict, native=parameters)
        if empty is not None:
            fine = raised is not None or actual.size == 0
            verdict = checks.Verdict(checks.PASS if fine else checks.SHAPE_MISMATCH, "" if fine else f"out.shape={np.shape(actual)}, but should be empty ({empty}) [{context}]")
        elif rejected is not None or raised is not None:
            verdict = checks.expect_error(raised, rejected, context)
        else:
            canonical = Case(**_operand_fields(case), stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), output_padding=(0,) * geometry.ndim)
            expected, bound = self._expected(canonical, x, w, bias, target.lane)
            verdict = checks.compare(actual, expected, bound, context)
        return self._finish("native", target, case, verdict, native=parameters)

    def gradients(self, target: TargetLane, case: Case) -> list[checks.Verdict]:
        """d x and d w of ``sum(upstream * y)`` by the framework's autodiff, against the oracle's gradients."""
        x, w, bias = operands(case, target.lane.dtype)
        upstream = lane_values(_values(np.random.default_rng(case.seed + 1), _output_shape(case), case.values), target.lane.dtype)
        result, verdict = self._call(target, case, "gradients", target.variant, case, x, w, bias, upstream, target.lane, expect=UNJUDGED, elements=x.size + w.size)
        # Each gradient judged on its own: a bad d x must not hide the verdict on d w.
        judged = [verdict, dataclasses.replace(verdict)] if verdict is not None else results.judge_each(result, (x.shape, w.shape), self._context(target, case), ("dx", "dw"))
        kw = case.oracle_kwargs()
        verdicts = []
        for index, (check, expected_of, terms) in enumerate((
            ("gradient-input", lambda a, b: input_gradient(a, b, case.input_size, **kw), case.out_per_group * int(np.prod(case.kernel_size))),
            ("gradient-weight", lambda a, b: weight_gradient(a, b, case.kernel_size, **kw), (case.batch or 1) * int(np.prod(case.input_size))),
        )):
            if judged[index] is None:
                first, second = (upstream, w) if index == 0 else (x, upstream)
                expected = expected_of(first.astype(np.float64), second.astype(np.float64))
                magnitude = expected_of(np.abs(first.astype(np.float64)), np.abs(second.astype(np.float64)))
                bound = self._bound(magnitude, terms, target.lane, case.values)
                this = checks.compare(result[index], expected, bound, self._context(target, case) + f" {check}")
            else:
                this = judged[index]
            verdicts.append(self._finish(check, target, case, this))
        return verdicts

    def linearity(self, target: TargetLane, case: Case) -> checks.Verdict:
        """f(x1 + x2) against f(x1) + f(x2) (no bias); the rounding of x1 + x2 into the lane's dtype is accounted for."""
        x1, w, _ = operands(case, target.lane.dtype)
        x2 = lane_values(_values(np.random.default_rng(case.seed + 2), x1.shape, case.values), target.lane.dtype)
        total = lane_values(x1.astype(np.float64) + x2, target.lane.dtype)
        outputs = []
        for x in (x1, x2, total):
            out, verdict = self._call(target, case, "forward", target.variant, case, x, w, None, target.lane, expect=_output_shape(case))
            if verdict is not None:
                return self._finish("linearity", target, case, verdict)
            outputs.append(np.asarray(out, dtype=np.float64))
        kw = case.oracle_kwargs()
        bound = sum(self._expected(case, x, w, None, target.lane)[1] for x in (x1, x2, total))
        bound = bound + oracles.conv_transpose(np.abs(total.astype(np.float64) - x1 - x2), np.abs(w), **kw)
        verdict = checks.compare(outputs[2], outputs[0] + outputs[1], bound, self._context(target, case) + " f(x1+x2) vs f(x1)+f(x2)")
        return self._finish("linearity", target, case, verdict)

    def batch_split(self, target: TargetLane, case: Case) -> checks.Verdict:
        """Each sample of a batched call against the same sample called alone."""
        x, w, bias = operands(case, target.lane.dtype)
        whole, verdict = self._call(target, case, "forward", target.variant, case, x, w, bias, target.lane, expect=_output_shape(case))
        if verdict is None:
            single = Case(**{**_operand_fields(case), "batch": None}, **_canonical_fields(case))
            parts = []
            for sample in x:
                part, verdict = self._call(target, case, "forward", target.variant, single, sample, w, bias, target.lane, expect=_output_shape(single))
                if verdict is not None:
                    break
                parts.append(np.asarray(part, dtype=np.float64))
        if verdict is None:
            bound = self._expected(case, x, w, bias, target.lane)[1] * 2
            verdict = checks.compare(np.asarray(whole), np.stack(parts), bound, self._context(target, case) + " batch vs per sample")
        return self._finish("batch-split", target, case, verdict)

    def determinism(self, target: TargetLane, case: Case) -> checks.Verdict:
        """Two identical calls return identical bits."""
        x, w, bias = operands(case, target.lane.dtype)
        first, verdict = self._call(target, case, "forward", target.variant, case, x, w, bias, target.lane, expect=_output_shape(case))
        if verdict is None:
            second, verdict = self._call(target, case, "forward", target.variant, case, x, w, bias, target.lane, expect=_output_shape(case))
        if verdict is None:
            verdict = checks.compare_exact(second, np.asarray(first, dtype=np.float64), self._context(target, case) + " second call")
        return self._finish("determinism", target, case, verdict)

    def agreement(self, targets, parameters, case: NativeCase) -> checks.Verdict:
        """Dialects that claim the same 'SAME' meaning give the same numbers on the same operands.

        ``targets`` and ``parameters`` pair each target lane with its native parameters; each result is
        compared with the first within the sum of their bounds.
        """
        dialect = get_dialect(case.dialect)
        geometry = dialect.to_canonical(case.input_size, case.kernel_size, **case.parameters)
        canonical = Case(**_operand_fields(case), stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), output_padding=(0,) * geometry.ndim)
        outputs = []
        for target, native in zip(targets, parameters):
            x, w, bias = operands(case, target.lane.dtype)
            result, verdict = self._call(target, case, "forward_native", target.variant, native, x, w, bias, case.groups, target.lane, expect=_output_shape(canonical))
            if verdict is not None:
                return self._finish("same-agreement", target, case, verdict, native=native)
            outputs.append(np.asarray(result, dtype=np.float64))
        bound = 2 * self._expected(canonical, x, w, bias, targets[0].lane)[1]
        names = " vs ".join(t.name for t in targets)
        verdict = checks.Verdict(checks.PASS)
        for other in outputs[1:]:
            verdict = checks.compare(other, outputs[0], bound, f"{names} on {case.parameters}")
            if verdict.failed:
                break
        return self._finish("same-agreement", targets[-1], case, verdict, native=dict(case.parameters))

    # -- helpers -------------------------------------------------------------------------------

    def _call(self, target, case, method, *args, expect, elements=None, raising=False):
        """``(result, None)``, or ``(None, verdict)`` for a call that raised, crashed, timed out or does not
        apply, or whose result is not what the check can compare. With ``raising``, the framework's own
        errors propagate (checks that expect some).

        Every result is judged here, once for every check (``results.judge``): a real floating array of
        shape ``expect`` (any shape for None; ``UNJUDGED``: the caller judges). The worker sends back no
        array of more than ``results.element_limit`` of the expected elements (``elements``, by default
        the size of ``expect``).

        Within one test, a case whose call crashed or timed out is not called again and no case drawn
        after it is called at all (see :mod:`conformance.memo`)."""
        key = (target, case)
        remembered = self.memo.before(key)
        if remembered is not None:
            return None, remembered
        if elements is None and isinstance(expect, tuple):
            elements = int(np.prod(expect, dtype=np.int64))
        limit = None if elements is None else results.element_limit(elements)
        try:
            result, verdict = self.pool.call(target.worker, method, *args, max_elements=limit), None
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
        return checks.Verdict(checks.ERROR_MISMATCH, f"raised {error.kind}: {error.message}, but the configuration is valid [{context}]")

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
        lane = target.lane
        where = (f"{target.name} {lane.dtype} {lane.device}" + ("" if lane.backend == "default" else f" {lane.backend}")
                 + ("" if lane.precision == "default" else f" {lane.precision}"))
        if isinstance(case, NativeCase):
            return f"{where}: {case.parameters}"
        return f"{where}: stride={case.stride}, padding={case.padding}, output_padding={case.output_padding}, dilation={case.dilation}, groups={case.groups}"

    def _finish(self, check, target, case, verdict, native=None) -> checks.Verdict:
        repro = ""
        if verdict.failed:
            native = native if native is not None else self._quietly(target, "native", target.variant, case)
            repro = self._quietly(target, "repro", target.variant, case, target.lane) or "" if isinstance(case, Case) else ""
        record = Record(
            check=check, target=target.name, framework=target.framework, version=target.version,
            device=target.lane.device, dtype=target.lane.dtype, precision=target.lane.precision, backend=target.lane.backend,
            outcome=verdict.outcome, case=asdict(case), native=native, message=verdict.message,
            max_abs_error=verdict.max_abs_error, bound=verdict.bound, ratio=verdict.ratio, worst_index=verdict.worst_index,
            first_differences=verdict.first_differences, ratio_map=verdict.ratio_map, repro=repro,
            environment=self.environment_keys.get(target.worker, ""),
        )
        if verdict.failed and self.known is not None:
            entry = self.known.match(record)
            if entry is not None:
                verdict.outcome = record.outcome = checks.KNOWN
                record.known = entry.id
                verdict.message = f"known discrepancy {entry.id} ({entry.link}): {verdict.message}"
        self.emit(record, verdict)
        return verdict

    def _quietly(self, target, method, *args):
        try:
            return self.pool.call(target.worker, method, *args)
        except Exception:  # a record without a repro beats losing the record
            return None


def _output_shape(case, geometry=None) -> tuple:
    """The shape of ``case``'s output (``geometry``: its canonical geometry, for a native case)."""
    geometry = geometry if geometry is not None else case.geometry
    return (() if case.batch is None else (case.batch,)) + (case.out_channels, *geometry.output_size)


def _values(rng, shape, values):
    return rng.integers(-4, 5, size=shape).astype(np.float64) if values == "integer" else rng.standard_normal(shape)


def _operand_fields(case) -> dict:
    from .cases import Operands

    return {f: getattr(case, f) for f in Operands.__dataclass_fields__}


def _canonical_fields(case: Case) -> dict:
    return {f: getattr(case, f) for f in ("stride", "dilation", "padding", "output_padding")}
