"""The interface every framework adapter implements; adding a framework is adding one module here.

A framework is a :class:`Target`: its name, the modules that must be installed, and its
:class:`Variant` objects, one per API entry point. The two halves of an adapter run in different
processes:

- *Translation* (:meth:`Variant.native`, :meth:`Variant.space`, :meth:`Variant.repro`) is pure
  arithmetic through the variant's dialect: it runs in the test process and imports no framework, so
  a case the API cannot express costs no round trip, and a failure's parameters and repro are made
  where the record is.
- *Execution* (:meth:`Variant.call`, :meth:`Variant.gradients`, and the :class:`Runtime` that loads
  the framework and reports its devices, dtypes and backends) runs inside a worker process
  (``conformance.worker``): a framework that aborts or hangs costs one worker, not the run. An adapter
  module therefore imports its framework only inside its runtime and calls, never at the top.

Everything that crosses the process boundary is plain data: NumPy arrays in the oracle's layouts,
native parameter dicts, :class:`Lane`, strings. Canonical layouts: ``x`` is ``(N, C_in, *spatial)``
or unbatched ``(C_in, *spatial)``; ``w`` is ``(C_in, C_out/groups, *k)``; results are ``(N, C_out,
*o)`` (or unbatched), in the computed dtype (bfloat16 as the float32 holding the same values).

The registry (``conformance.targets.registry``) finds every module in this package that defines
``TARGET``; the plugin, the worker and the dialect tests all read it.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..cases import Case


class Unsupported(Exception):
    """This build cannot run the configuration (e.g. TF dilation off oneDNN); recorded as UNSUPPORTED, keyed by the environment."""


class NotApplicable(Exception):
    """The variant cannot express the case (e.g. torch with crop_before < crop_after); the check is skipped for that variant."""


class FrameworkError(Exception):
    """The framework raised; ``kind`` is its exception class name, ``message`` the first line of its
    text (for tables and one-line verdicts), ``detail`` the whole text (for the record and the report:
    some libraries say what went wrong only on a later line)."""

    def __init__(self, kind: str, message: str, detail: str = ""):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.detail = kind, message, detail

    @classmethod
    def of(cls, error: BaseException) -> "FrameworkError":
        """What the framework raised, as the suite records it: the class name, the message's first line and its whole text."""
        return cls(type(error).__name__, first_line(error), full_text(error))


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (framework messages run to pages of context)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


# The most of an error's text a record keeps (some frameworks print pages of context).
DETAIL_LIMIT = 20_000


def full_text(error: BaseException) -> str:
    """An exception's whole message where it runs past its first line (else ""), cut at :data:`DETAIL_LIMIT` characters."""
    text = str(error).strip()
    if "\n" not in text:
        return ""
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT] + f"\n... ({len(text) - DETAIL_LIMIT} more characters)"


def batched(x, w) -> tuple[np.ndarray, bool]:
    """``x`` with a batch dim (most APIs have no unbatched convolution) and whether it had one; an
    unbatched input has one dim fewer than the weight."""
    x = np.asarray(x)
    return (x, True) if x.ndim == np.ndim(w) else (x[np.newaxis], False)


def computed(array) -> np.ndarray:
    """A result as NumPy in the dtype it was computed in; bfloat16 (which NumPy lacks: ml_dtypes'
    type) as the float32 holding the same values, exactly (same exponent range, 24 >= 8 significand
    bits), so the test process needs no ml_dtypes."""
    array = np.asarray(array)
    return array.astype(np.float32) if array.dtype.name == "bfloat16" else array


@dataclass(frozen=True)
class Lane:
    """Where and how a call runs: device (``cpu``, ``cuda:0``, ``gpu:0``), dtype name, precision mode.

    ``precision`` is ``"highest"`` (full float32 forced) or ``"tf32"`` (TF32 allowed) on GPUs, and
    ``"default"`` on CPUs, where the frameworks have no reduced-precision float32 mode. ``backend`` is
    the kernel library the lane forces (set explicitly, never inherited from the CPU the run lands on).
    ``mode`` is the execution mode (``conformance.modes``): ``"eager"`` or ``"compiled"`` (torch.compile,
    jax.jit, tf.function with XLA), and, for the runner's localisation of a compiled failure only,
    ``"aot_eager"`` (torch: dynamo and AOTAutograd without inductor's code generation).
    """

    device: str
    dtype: str
    precision: str = "default"
    backend: str = "default"  # the kernel path forced for this lane: "onednn", "eigen", "native", "cudnn"
    mode: str = "eager"  # how the call executes: "eager" (op by op) or "compiled" (conformance.modes)

    @property
    def bound_precision(self):
        """The ``precision`` argument of ``oracles.error_bound`` for this lane."""
        return "tf32" if self.precision == "tf32" else None


class Variant:
    """One API entry point of a framework. Subclasses set ``name`` and ``dialect`` and implement
    :meth:`native` and :meth:`call`; ``gradients = True`` where :meth:`gradients` is checked."""

    name: str
    dialect: str  # the ``oracles.dialects`` name whose parameters this variant takes ("canonical" for --impl)
    checks_gradients: bool = False
    # Execution modes the variant runs (``conformance.modes``); a lane in another mode is skipped with
    # ``no_compiled`` as the reason, so a report says why a target has no compiled counterpart.
    modes: tuple[str, ...] = ("eager",)
    no_compiled: str = "no compiled counterpart"
    # Epilogues (``oracles.epilogues``) the variant can apply inside its call, where a compiler may fuse them.
    epilogues: tuple[str, ...] = ()
    # The variant whose kernel this one reaches through the framework's own rearrangement of the
    # operands (a layout, a flipped kernel), or "". Such a spelling is checked for what it adds (its
    # translation: values and shapes with a smaller budget (``test_values_of_spellings``), the dialect,
    # compiled lanes), not again for the kernel's identities, long outputs and eager epilogues, which
    # the variant it spells runs (``parametrize.kernel_check``), and on float32 lanes only, since the
    # rearrangement is the same in every dtype (``lane_support``).
    spells: str = ""
    # Modes a failing compiled check is re-run in, besides eager, to place the fault (torch: "aot_eager").
    diagnostic_modes: tuple[str, ...] = ()

    # -- translation: the test process ---------------------------------------------------------

    def native(self, case: Case) -> dict:
        """The native parameters this variant is called with for ``case`` (through its dialect's
        ``from_canonical``); ``NotApplicable`` with the reason where the variant cannot express it."""
        raise NotImplementedError

    def space(self, lane: Lane) -> dict:
        """What the lane can run, for the strategies to draw only that (``conformance.strategies.lane_cases``):
        ``{"dilation": "any"|"string-padding"|"none", "groups": ..., "groups_3d": bool, "string_padding": bool,
        "ndims": (...)}``; ``{}`` is the whole canonical space."""
        return {}

    def lane_support(self, lane: Lane) -> str | None:
        """Why this variant cannot run anything on ``lane`` (the lane is then skipped with this reason), or None.
        Subclasses that add reasons call this first: it answers for the execution mode."""
        if lane.mode not in self.modes:
            return f"{self.name}: {self.no_compiled}" if lane.mode == "compiled" else f"{self.name}: no {lane.mode} mode"
        if self.spells and lane.dtype != "float32":
            # The spelling's translation is the same in every dtype; the other dtypes' kernels run on what it spells.
            return f"{self.name}: a spelling of {self.spells}'s call, checked on float32 lanes only ({lane.dtype} runs on {self.spells})"
        return None

    def repro(self, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
        """A copy-paste snippet calling the framework's own API with ``native`` (``x``, ``w``, ``bias``
        as canonical NumPy arrays in scope; ``residual`` too for that epilogue) that leaves the
        canonical-layout result in ``y``, in the lane's mode (compiled: the call and the epilogue in
        one compiled function) and followed by ``epilogue`` (the bias epilogue: the call without
        bias, then ``bias`` added)."""
        return f"# {self.name}: {native!r}"

    def repro_gradients(self, case: Case, native: dict, lane: Lane) -> str:
        """Like :meth:`repro` for the gradient checks: source leaving ``dx`` and ``dw`` (canonical NumPy
        arrays) of ``sum(upstream * y)`` by the framework's autodiff, ``upstream`` in scope beside ``x``,
        ``w``, ``bias``. Variants that check gradients write it."""
        raise NotImplementedError(f"{self.name}: no gradient repro")

    # -- execution: the worker process ---------------------------------------------------------

    def call(self, runtime: "Runtime", native: dict, x: np.ndarray, w: np.ndarray, bias, groups: int, lane: Lane,
             epilogue=None) -> np.ndarray:
        """Call the framework with its own parameters ``native`` (as the dialect spells them, possibly
        invalid) on canonical-layout operands holding ``lane.dtype`` values, in ``lane.mode``; return the
        canonical-layout result in the computed dtype. ``Unsupported`` where this build cannot run it,
        ``FrameworkError`` for anything else the framework raised.

        ``epilogue``: None, or ``(name, operand)`` from ``oracles.epilogues`` (one of :attr:`epilogues`):
        the framework applies it to the result inside the same call (the same compiled function), with
        ``operand`` the bias ``(C_out,)`` for ``"bias"`` or the residual (the output's canonical shape)."""
        raise NotImplementedError

    def gradients(self, runtime: "Runtime", native: dict, x, w, bias, groups: int, upstream, lane: Lane) -> tuple[np.ndarray, np.ndarray]:
        """``(d x, d w)`` of ``sum(upstream * conv_transpose(x, w, bias))`` in canonical layouts, by the framework's autodiff."""
        raise NotApplicable(f"{self.name}: no gradient check")

    def __repr__(self) -> str:
        return f"<variant {self.name} ({self.dialect})>"


class CompiledCache:
    """Compiled functions by key (each entry one compilation), made on a miss; beyond ``size`` entries the
    least recently used is dropped, which frees its compilation."""

    def __init__(self, size: int):
        self.size, self._entries = size, OrderedDict()

    def get(self, key, make):
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        entry = self._entries[key] = make()
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


class Runtime:
    """A framework loaded in a worker process: what this build and machine offer. Constructed by
    :meth:`Target.runtime` in the worker, which is where the framework is imported."""

    def environment(self) -> dict:
        """Version, devices and precision-relevant settings (TF32 flags, oneDNN), for report headers and
        records; ``support_key`` names the settings that decide which configurations this build can run."""
        return {}

    def devices(self) -> tuple[str, ...]:
        """Devices present: ``"cpu"`` and one entry per GPU."""
        return ("cpu",)

    def dtypes(self, device: str) -> tuple[str, ...]:
        """dtypes worth testing on ``device`` (float16/bfloat16 only where the device computes them)."""
        return ("float32", "float64")

    def precisions(self, device: str, dtype: str) -> tuple[str, ...]:
        """Precision modes: on GPUs float32 runs with TF32 allowed and with full float32 forced."""
        return ("highest", "tf32") if device != "cpu" and dtype == "float32" else ("default",)

    def mode_support(self, device: str, mode: str) -> str | None:
        """Why this build cannot run ``mode`` on ``device`` (torch's inductor without a C++ compiler), or None."""
        return None

    def backends(self, device: str, dtype: str) -> tuple[str, ...]:
        """The backend paths this worker runs on ``device`` in ``dtype`` (``conformance.backends``);
        each becomes a lane, and the variants force it on every call of that lane."""
        return ("default",)


@dataclass(frozen=True)
class Target:
    """One framework: its variants (translation, test process) and how to load it (execution, worker).

    ``process_settings`` are backends fixed when the framework loads (TensorFlow reads
    ``TF_ENABLE_ONEDNN_OPTS`` once): one worker process per setting, started with those variables.
    ``backends`` lists every backend name its lanes may carry (for validating ``--backends``).
    """

    framework: str
    requires: tuple[str, ...]  # importable modules whose presence means the framework is installed
    variants: tuple[Variant, ...]
    load: object  # () -> Runtime, called in the worker: imports the framework
    process_settings: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)  # variables its worker starts with unless the user set them
    backends: tuple[str, ...] = ("default",)
    extra: str = ""  # the package extra that installs it (``pip install 'convt-conformance[EXTRA]'``); default: the framework's name
    # Variables that put the framework's persistent compilation cache under a directory (``--compile-cache``):
    # name -> value, with ``{cache}`` standing for that directory.
    compile_cache: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.extra:
            object.__setattr__(self, "extra", self.framework)

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise ValueError(f"{self.framework} has no variant {name!r}; it has {', '.join(v.name for v in self.variants)}")

    def installed(self) -> bool:
        """Whether every module the adapter needs can be imported (found, not imported)."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def runtime(self) -> Runtime:
        return self.load()

    def cache_environment(self, directory) -> dict[str, str]:
        """The variables its worker starts with to keep compilations in ``directory`` (None: no persistent cache)."""
        if directory is None:
            return {}
        return {name: value.replace("{cache}", str(directory)) for name, value in self.compile_cache.items()}

    @property
    def dialects(self) -> tuple[str, ...]:
        """The dialects the variants speak, in order (their native strategies are ``conformance.native.<dialect>``)."""
        return tuple(dict.fromkeys(variant.dialect for variant in self.variants))
