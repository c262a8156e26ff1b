"""The interface every framework adapter implements; adding a framework is adding one module.

An adapter runs *inside a worker process* (see ``conformance.worker``), never in the test process:
a framework that aborts or hangs then costs one worker, not the run. Everything that crosses the
process boundary is plain data: NumPy arrays in the oracle's layout, the :class:`~conformance.cases.Case`,
strings.

Canonical layouts at the boundary: ``x`` is ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``;
``w`` is ``(C_in, C_out/groups, *k)``; results are ``(N, C_out, *o)`` (or unbatched), float64 or the
computed dtype. The adapter converts to its native layout through its dialect.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from ..cases import Case


class Unsupported(Exception):
    """This build cannot run the configuration (e.g. TF dilation off oneDNN); recorded as UNSUPPORTED, keyed by the environment."""


class NotApplicable(Exception):
    """The variant cannot express the case (e.g. torch with crop_before < crop_after); the check is skipped for that variant."""


class FrameworkError(Exception):
    """The framework raised; ``kind`` is its exception class name, the message its text."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


@dataclass(frozen=True)
class Lane:
    """Where and how a call runs: device (``cpu``, ``cuda:0``, ``gpu:0``), dtype name, precision mode.

    ``precision`` is ``"highest"`` (full float32 forced) or ``"tf32"`` (TF32 allowed) on GPUs, and
    ``"default"`` on CPUs, where the frameworks have no reduced-precision float32 mode. ``backend`` is
    the kernel library the lane forces (set explicitly, never inherited from the CPU the run lands on).
    """

    device: str
    dtype: str
    precision: str = "default"
    backend: str = "default"  # the kernel path forced for this lane: "onednn", "eigen", "native", "cudnn", "xla"

    @property
    def bound_precision(self):
        """The ``precision`` argument of ``oracles.error_bound`` for this lane."""
        return "tf32" if self.precision == "tf32" else None


class Target(abc.ABC):
    """One framework: its variants (API entry points), devices, dtypes and calls."""

    framework: str  # "torch", "tensorflow", "jax"

    @abc.abstractmethod
    def environment(self) -> dict:
        """Version, devices and precision-relevant settings (TF32 flags, oneDNN), for report headers and
        records; ``support_key`` names the settings that decide which configurations this build can run."""

    @abc.abstractmethod
    def variants(self) -> tuple[str, ...]:
        """Variant names, e.g. ``("conv_transpose", "module_output_size", "channels_last")``."""

    @abc.abstractmethod
    def devices(self) -> tuple[str, ...]:
        """Devices present: ``"cpu"`` and one entry per GPU."""

    def dtypes(self, device: str) -> tuple[str, ...]:
        """dtypes worth testing on ``device`` (float16/bfloat16 only where the device computes them)."""
        return ("float32", "float64")

    def precisions(self, device: str, dtype: str) -> tuple[str, ...]:
        """Precision modes: on GPUs float32 runs with TF32 allowed and with full float32 forced."""
        return ("highest", "tf32") if device != "cpu" and dtype == "float32" else ("default",)

    def backends(self, device: str, dtype: str) -> tuple[str, ...]:
        """The backend paths this worker runs on ``device`` in ``dtype`` (``conformance.backends``);
        each becomes a lane, and the target forces it on every call of that lane."""
        return ("default",)

    def lane_support(self, variant: str, lane: Lane) -> str | None:
        """Why ``variant`` cannot run anything on ``lane`` (the lane is then skipped with this reason), or None."""
        return None

    def space(self, variant: str, lane: Lane) -> dict:
        """What the lane can run, for the strategies to draw only that (``conformance.strategies.lane_cases``):
        ``{"dilation": "any"|"string-padding"|"none", "groups": ..., "groups_3d": bool, "string_padding": bool}``;
        ``{}`` is the whole canonical space."""
        return {}

    @abc.abstractmethod
    def dialect(self, variant: str) -> str:
        """The name of the ``oracles.dialects`` dialect whose parameters this variant takes."""

    @abc.abstractmethod
    def native(self, variant: str, case: Case) -> dict:
        """The native parameters this variant is called with for ``case`` (through its dialect's
        ``from_canonical``); ``NotApplicable`` with the reason where the variant cannot express it."""

    @abc.abstractmethod
    def forward_native(self, variant: str, native: dict, x: np.ndarray, w: np.ndarray, bias, groups: int, lane: Lane) -> np.ndarray:
        """Call the framework with its own parameters ``native`` (as the dialect spells them, possibly
        invalid) on canonical-layout operands cast to ``lane.dtype``; return the canonical-layout result
        in the computed dtype.

        Raises ``Unsupported`` where this build cannot run it, ``FrameworkError`` for anything else the
        framework raised.
        """

    def forward(self, variant: str, case: Case, x: np.ndarray, w: np.ndarray, bias, lane: Lane) -> np.ndarray:
        """The transposed convolution of ``case`` computed by the framework (canonical layout)."""
        return self.forward_native(variant, self.native(variant, case), x, w, bias, case.groups, lane)

    def gradient_variants(self) -> tuple[str, ...]:
        """The variants whose :meth:`gradients` are checked."""
        return ()

    def gradients(self, variant: str, case: Case, x, w, bias, upstream, lane: Lane) -> tuple[np.ndarray, np.ndarray]:
        """``(d x, d w)`` of ``sum(upstream * conv_transpose(x, w, bias))`` in canonical layouts, by the framework's autodiff."""
        raise NotApplicable(f"{self.framework} {variant}: no gradient check")

    def repro(self, variant: str, case: Case, lane: Lane) -> str:
        """A copy-paste snippet calling the framework's own API for ``case`` (x, w, bias as NumPy arrays in scope)."""
        return f"# {self.framework} {variant}: {self.native(variant, case)!r}"


