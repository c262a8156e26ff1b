"""The lanes of a run: every framework variant x device x dtype x precision x backend x mode the options select.

Each lane is asked of the worker that runs it (devices, dtypes, precisions and backends are facts of
the installed build), deduplicated across workers (TensorFlow's two processes both run float64 on
Eigen: one lane, not two), and paired with ``None`` or the reason it is skipped. A lane skipped is
said so: a green run on a machine without a GPU, or on a TensorFlow build without oneDNN, has not
tested those, and the report says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import targets
from .backends import process_settings
from .modes import MODES
from .targets.base import Lane, Variant


@dataclass(frozen=True)
class TargetLane:
    """A framework variant on one lane: the unit a test is parametrized over."""

    worker: str  # the worker's target name: torch, tensorflow@eigen, jax, impl:SPEC
    framework: str
    variant: str
    lane: Lane
    version: str = ""
    space: dict = field(default_factory=dict, compare=False, hash=False)  # what the lane can run (Variant.space)

    @property
    def api(self) -> Variant:
        """The variant's object (``conformance.targets``): its translation here, its calls in the worker."""
        return targets.get(self.worker).variant(self.variant)

    @property
    def name(self) -> str:
        return f"{self.framework}.{self.variant}"

    @property
    def id(self) -> str:
        return f"{self.name}-{self.lane_id}"

    @property
    def lane_id(self) -> str:
        """``cpu-onednn-float32``, ``cuda:0-cudnn-float32-tf32-compiled``: device, backend (unless the target
        has one path), dtype, precision (unless default), mode (unless eager, so eager ids stay as they were)."""
        lane = self.lane
        backend = "" if lane.backend == "default" else f"-{lane.backend}"
        return (f"{lane.device}{backend}-{lane.dtype}" + ("" if lane.precision == "default" else f"-{lane.precision}")
                + ("" if lane.mode == "eager" else f"-{lane.mode}"))

    @property
    def description(self) -> str:
        """``torch.functional float32 cpu onednn compiled``: where a check ran, for messages."""
        lane = self.lane
        return (f"{self.name} {lane.dtype} {lane.device}" + ("" if lane.backend == "default" else f" {lane.backend}")
                + ("" if lane.precision == "default" else f" {lane.precision}") + ("" if lane.mode == "eager" else f" {lane.mode}"))


def _device_selected(device: str, devices) -> bool:
    if not devices:
        return True
    kind = "cpu" if device == "cpu" else "gpu"
    return device in devices or kind in devices or (kind == "gpu" and "cuda" in devices)


def build(pool, workers, environments, options) -> list[tuple[TargetLane, str | None]]:
    """``(lane, skip reason or None)`` for every lane; ``pool.call(worker, method, ...)`` asks the targets."""
    lanes, seen, asked = [], set(), {}
    for worker in workers:
        environment = environments[worker]
        framework, version = environment.get("framework", worker), environment.get("version", "")
        present = list(pool.call(worker, "devices"))
        for device in (d for d in present if _device_selected(d, options.devices)):
            for dtype in pool.call(worker, "dtypes", device):
                if options.dtypes and dtype not in options.dtypes:
                    continue
                if not options.dtypes and device == "cpu" and dtype in ("float16", "bfloat16") and "capabilities" not in environment:
                    continue  # half precision is a GPU lane by default; --dtypes (or an implementation's declared dtypes) opts the CPU in
                for precision in pool.call(worker, "precisions", device, dtype):
                    for backend in pool.call(worker, "backends", device, dtype):
                        if options.backends and backend not in options.backends:
                            continue
                        for mode in options.modes or MODES:
                            for variant in targets.get(worker).variants:
                                lane = Lane(device, dtype, precision, backend, mode)
                                key = (framework, variant.name, lane)
                                if key in seen:
                                    continue  # another worker of this framework already runs these kernels
                                seen.add(key)
                                skip = variant.lane_support(lane) or _mode_support(pool, worker, device, mode, asked)
                                # An implementation's declared space narrows its variant's (conformance.targets.impl).
                                space = {} if skip else {**variant.space(lane), **environment.get("space", {})}
                                lanes.append((TargetLane(worker, framework, variant.name, lane, version, space), skip))
        if not options.backends or worker.partition("@")[2] in options.backends:
            lanes += _missing_backend(worker, framework, version, lanes)
        declared = (environment.get("capabilities") or {}).get("devices", ("cpu", "gpu"))  # an implementation's, or any
        if "gpu" in declared and environment.get("arrays") == "numpy":
            lanes.append((TargetLane(worker, framework, "*", Lane("gpu", "float32", "highest"), version),
                          "the implementation declares GPUs, but --impl-arrays numpy hands it host arrays: "
                          "use --impl-arrays torch or jax to run it on a GPU"))
        elif "gpu" in declared and not any(d != "cpu" for d in present) and _device_selected("gpu", options.devices):
            # Say so explicitly: a green run on a machine without a GPU has not tested one.
            gpu = TargetLane(worker, framework, "*", Lane("gpu", "float32", "tf32"), version)
            if not any(t.framework == framework and t.lane.device == "gpu" for t, _ in lanes):
                lanes.append((gpu, f"no GPU visible to {framework}: its GPU lanes (every GPU dtype, precision and backend) not run"))
    return lanes


def _mode_support(pool, worker, device, mode, asked: dict) -> str | None:
    """The worker's reason it cannot run ``mode`` on ``device``, asked once per worker, device and mode
    (``asked`` keeps the answers for the run's lanes)."""
    if mode == "eager":
        return None
    if (worker, device, mode) not in asked:
        asked[worker, device, mode] = pool.call(worker, "mode_support", device, mode)
    return asked[worker, device, mode]


def _missing_backend(worker, framework, version, lanes):
    """A worker started to run one backend (``tensorflow@onednn``) whose build never runs it: one
    skipped lane that says so, instead of silently testing the other backend twice."""
    name, _, setting = worker.partition("@")
    settings = process_settings(name)
    if setting not in settings:
        return []
    if any(t.worker == worker and t.lane.backend == setting for t, skip in lanes if skip is None):
        return []
    variables = " ".join(f"{k}={v}" for k, v in settings[setting].items())
    lane = TargetLane(worker, framework, "*", Lane("cpu", "float32", "default", setting), version)
    return [(lane, f"this {framework} build runs no {setting} kernels for the selected dtypes, even with {variables}: {setting} lanes not run")]


def offered_backends(pool, workers) -> list[str]:
    """Every backend the workers run on any device and dtype: what ``--backends`` could have selected."""
    return sorted({
        backend
        for worker in workers for device in pool.call(worker, "devices") for dtype in pool.call(worker, "dtypes", device)
        for backend in pool.call(worker, "backends", device, dtype)
    })


def offered_dtypes(pool, workers, devices) -> list[str]:
    """Every dtype the workers offer on the selected devices: what ``--dtypes`` could have selected."""
    return sorted({
        dtype
        for worker in workers for device in pool.call(worker, "devices") if _device_selected(device, devices)
        for dtype in pool.call(worker, "dtypes", device)
    })
