"""Backend paths: which kernel library a lane forces, set explicitly instead of inherited from the CPU.

A framework picks its convolution kernels from several libraries, and which one runs depends on the
machine unless the suite says so: TensorFlow leaves oneDNN off by default on x86 CPUs without
AVX-512-class features, so the same ``pytest conformance`` would test other kernels (and be red or
green) depending on the CPU the CI runner got. Each lane therefore names its backend, and the suite
sets it itself:

| framework  | backend   | how it is forced                                         | where |
|------------|-----------|----------------------------------------------------------|-------|
| tensorflow | `onednn`  | ``TF_ENABLE_ONEDNN_OPTS=1`` in its worker's environment  | CPU, float32 (bfloat16, float16 where the CPU has oneDNN kernels for them) |
| tensorflow | `eigen`   | ``TF_ENABLE_ONEDNN_OPTS=0`` in its worker's environment  | CPU, every dtype |
| tensorflow | `cudnn`   | (TF has no switch: cuDNN is its only GPU convolution)     | GPU |
| torch      | `onednn`  | ``torch.backends.mkldnn.enabled = True`` around the call | CPU, float32 (bfloat16, float16 where the CPU has oneDNN kernels) |
| torch      | `native`  | ``torch.backends.mkldnn.enabled = False`` / ``torch.backends.cudnn.enabled = False`` | CPU, GPU |
| torch      | `cudnn`   | ``torch.backends.cudnn.enabled = True`` around the call  | GPU |
| jax, onnxruntime, impl | `default` | one path                                     | |

Float64 has no oneDNN kernel in either framework, so its lanes are ``eigen``/``native`` only: a lane's
backend names the path that actually runs, and two lanes never run the same kernels twice.

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, when it loads: each setting is its own worker process,
named ``tensorflow@onednn`` and ``tensorflow@eigen``. PyTorch switches oneDNN with a call, but its compiler
does not forget: inductor registers its oneDNN fusion and weight-prepack patterns the first time it
compiles with oneDNN enabled and applies them from then on, so ``torch@onednn`` and ``torch@native`` are
processes of their own too (the GPU lanes run in the first).
Each target declares its own (``Target.process_settings``, ``Target.backends``); this module reads them
from the registry and imports no framework: the test process decides which workers to start from it.
"""

from __future__ import annotations

from . import targets


def process_settings(framework: str) -> dict[str, dict[str, str]]:
    """Backends fixed when ``framework`` loads: setting -> the environment variables its worker starts with."""
    if framework.startswith("impl:") or framework == "impl":
        return {}
    return targets.get(framework).process_settings


def backend_names() -> tuple[str, ...]:
    """Every backend name a lane can carry, for validating --backends."""
    names = [name for target in targets.targets().values() for name in target.backends]
    return tuple(dict.fromkeys(names + ["default"]))


def workers(framework: str) -> list[str]:
    """The worker names for ``framework``: ``["tensorflow@onednn", "tensorflow@eigen"]``, else ``[framework]``."""
    settings = process_settings(framework)
    return [f"{framework}@{setting}" for setting in settings] if settings else [framework]


def environment(worker: str) -> dict[str, str]:
    """The environment variables a worker must start with to run its backend (overriding the user's)."""
    if worker.startswith("impl:"):
        return {}
    framework, _, setting = worker.partition("@")
    return dict(process_settings(framework).get(setting, {}))
