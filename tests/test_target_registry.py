"""The target registry: what it finds, and that translation (native parameters, spaces, lane support,
repros) runs in the test process without loading any framework, for every target, present or future."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance import targets
from conformance.targets.base import Target
from oracles.dialects import DIALECTS

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_finds_every_adapter_module():
    modules = {path.stem for path in (ROOT / "conformance" / "targets").glob("*.py")} - {"__init__", "base", "impl"}
    repros = {module for module in modules if module.endswith("_repro")}  # an adapter's repro text: no TARGET
    assert set(targets.frameworks()) == modules - repros == {"jax", "onnxruntime", "tensorflow", "torch"}
    assert {module.removesuffix("_repro") for module in repros} <= set(targets.frameworks())
    assert not any(hasattr(importlib.import_module(f"conformance.targets.{module}"), "TARGET") for module in repros)
    assert all(isinstance(target, Target) for target in targets.targets().values())


@pytest.mark.parametrize("framework", targets.frameworks())
def test_each_target_declares_a_coherent_interface(framework):
    target = targets.get(framework)
    names = [variant.name for variant in target.variants]
    assert len(names) == len(set(names)), names
    assert all(variant.dialect in DIALECTS for variant in target.variants)
    for dialect in target.dialects:  # the dialect tests draw from conformance.native.<dialect>
        strategy = importlib.import_module(f"conformance.native.{dialect}").native_cases(spaces=None)
        assert strategy is not None
    assert set(target.process_settings) <= set(target.backends)
    assert targets.get(f"{framework}@anything") is target  # a worker name reads as its framework


def test_an_unknown_target_is_named_in_the_error():
    with pytest.raises(ValueError, match="no target 'caffe'; the targets are jax, onnxruntime, tensorflow, torch"):
        targets.get("caffe")


# Heavy modules each framework's calls import; translation must load none of them.
FRAMEWORK_MODULES = ("torch", "tensorflow", "keras", "jax", "jaxlib", "onnx", "onnxruntime")


@pytest.mark.parametrize("framework", targets.frameworks())
def test_translation_loads_no_framework(framework):
    """In a fresh interpreter: every variant's space, lane support, native parameters and repro on 1-, 2-
    and 3-D cases with and without groups, on every backend's CPU lane; then no framework module is loaded."""
    code = textwrap.dedent(f"""
        import sys
        from conformance import targets
        from conformance.cases import Case
        from conformance.targets.base import Lane, NotApplicable
        target = targets.get({framework!r})
        cases = [
            Case(batch=None, groups=1, in_per_group=1, out_per_group=2, input_size=(5,), kernel_size=(3,), stride=(2,),
                 dilation=(1,), padding=((1, 1),), output_padding=(1,), bias=True),
            Case(batch=2, groups=1, in_per_group=2, out_per_group=1, input_size=(3, 4), kernel_size=(2, 3), stride=(1, 2),
                 dilation=(1, 1), padding=((0, 0), (1, 0)), output_padding=(0, 0), bias=False),
            Case(batch=1, groups=2, in_per_group=1, out_per_group=2, input_size=(3, 4), kernel_size=(3, 2), stride=(2, 1),
                 dilation=(1, 2), padding=((1, 1), (-1, 0)), output_padding=(1, 0), bias=True),
            Case(batch=1, groups=1, in_per_group=1, out_per_group=1, input_size=(2, 2, 2), kernel_size=(2, 2, 2),
                 stride=(2, 2, 2), dilation=(1, 1, 1), padding=((0, 0),) * 3, output_padding=(0, 0, 0), bias=False),
        ]
        repros = {{}}
        for variant in target.variants:
            for backend in target.backends + ("default",):
                lane = Lane("cpu", "float32", backend=backend)
                variant.space(lane)
                variant.lane_support(lane)
                for case in cases:
                    try:
                        native = variant.native(case)
                    except NotApplicable:
                        continue
                    repros[variant.name] = variant.repro(case, native, lane)
        missing = [variant.name for variant in target.variants if not repros.get(variant.name)]
        assert not missing, f"no case made a repro for {{missing}}"
        loaded = sorted(name for name in {FRAMEWORK_MODULES!r} if name in sys.modules)
        assert not loaded, f"translation loaded {{loaded}}"
    """)
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


class _Config:
    """The options ``conformance.options.parse`` reads, as a run with ``--frameworks FRAMEWORKS`` gives them."""

    def __init__(self, tmp_path, frameworks):
        self.values = {"frameworks": frameworks, "impl": None, "devices": None, "dtypes": None, "backends": None,
                       "max_examples": None, "call_timeout": 120.0, "report_dir": str(tmp_path), "known_discrepancies": None,
                       "modes": None, "compile_cache": "none", "impl_arrays": None, "impl_version": None, "impl_dialect": None, "shard": None}

    def getoption(self, name):
        return self.values[name]


def test_a_target_that_is_not_installed_names_its_extra(tmp_path, monkeypatch):
    """ONNX Runtime comes with the ``onnx`` extra: the message says that, not ``[onnxruntime]``."""
    from conformance import options

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "onnxruntime" else real(name, *rest))
    with pytest.raises(pytest.UsageError, match=r"--frameworks: onnxruntime is not installed \(pip install 'convt-conformance\[onnx\]'\)"):
        options.parse(_Config(tmp_path, "onnxruntime"))
    assert "onnxruntime" not in options.parse(_Config(tmp_path, None)).frameworks  # by default: every one installed
