"""The suite's command-line options, validated once into plain data: a bad value is a usage error naming
the option, never a green run that tested nothing, a collection error or an INTERNALERROR."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import targets
from .backends import backend_names
from .modes import MODES

DTYPES = ("float16", "bfloat16", "float32", "float64")
# cpu, gpu (every GPU), cuda (the same), or one device: cuda:0, gpu:1.
DEVICE = re.compile(r"^(cpu|gpu|cuda)$|^(gpu|cuda):\d+$")


def add_options(parser) -> None:
    group = parser.getgroup("convt", "transposed-convolution conformance")
    group.addoption("--frameworks", help=f"comma-separated: {','.join(targets.frameworks())} (default: every one installed; none with --impl)")
    group.addoption("--devices", help="comma-separated: cpu, gpu, or a device such as cuda:0 / gpu:1 (default: all present)")
    group.addoption("--dtypes", help=f"comma-separated from {','.join(DTYPES)} (default: float32,float64, plus float16,bfloat16 on GPUs; name them to run them on the CPU)")
    group.addoption("--backends", help=f"comma-separated kernel paths from {','.join(backend_names())} (default: all; see README 'Backends')")
    group.addoption("--modes", help=f"comma-separated execution modes from {','.join(MODES)} (default: both; see README 'Execution modes')")
    group.addoption("--compile-cache", help="directory for the frameworks' persistent compilation caches, or 'none' (default: $CONVT_COMPILE_CACHE, else ~/.cache/convt-conformance)")
    group.addoption("--max-examples", type=int, help="hypothesis examples per test (default: the profile's)")
    group.addoption("--report-dir", default=None, help="where records and reports are written (default: reports/out under the working directory)")
    group.addoption("--impl", help="test your own implementation: MODULE_OR_FILE.py:FUNCTION (see README)")
    group.addoption("--impl-arrays", help="the arrays --impl receives: numpy (default), torch or jax, on the lane's device")
    group.addoption("--impl-version", help="the version recorded for --impl (default: its module's __version__)")
    group.addoption("--impl-dialect", help="the signature --impl has: canonical (default), or a framework's own: torch, onnx, tensorflow, jax")
    group.addoption("--call-timeout", type=float, default=120.0, help="seconds one framework call may take before it is recorded as a timeout (default 120)")
    group.addoption("--known-discrepancies", help="a known-discrepancy TOML file (default: the suite's own)")
    group.addoption("--example-db", help="a hypothesis example database shared by runs and machines: a directory or redis://host:port/db (see README 'Running on many machines')")
    group.addoption("--example-db-readonly", action="store_true", default=False, help="replay the --example-db's examples without adding to it or deleting from it (pull-request runs)")
    group.addoption("--shard", help="I/N: run the I-th of N shards, every N-th test item (see README 'Running on many machines')")


@dataclass(frozen=True)
class Options:
    frameworks: tuple[str, ...]
    devices: tuple[str, ...]
    dtypes: tuple[str, ...]
    backends: tuple[str, ...]
    modes: tuple[str, ...]
    compile_cache: Path | None  # None: no persistent compilation cache
    impl: str | None
    report_dir: Path
    call_timeout: float
    known_discrepancies: str | None
    impl_arrays: str = "numpy"
    impl_version: str | None = None
    impl_dialect: str = "canonical"
    shard: tuple[int, int] | None = None  # (index, count), 1-based


def _split(option: str, value: str | None, choices=None, pattern=None) -> tuple[str, ...]:
    """A comma-separated option; ``()`` when not given. Given but naming nothing (``",,,"``), or naming
    something unknown, is a usage error: a typo must not select an empty run."""
    if value is None:
        return ()
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    if not items:
        raise pytest.UsageError(f"{option}: no value in {value!r}" + (f"; choose from {','.join(choices)}" if choices else ""))
    for item in items:
        if choices is not None and item not in choices:
            raise pytest.UsageError(f"{option}: unknown {option[2:-1]} {item!r}; choose from {','.join(choices)}")
        if pattern is not None and not pattern.match(item):
            raise pytest.UsageError(f"{option}: unknown device {item!r}; use cpu, gpu, or one device such as cuda:0 or gpu:1")
    return items


def _writable_directory(value: str | None, option: str = "--report-dir", default: Path | None = None) -> Path:
    """A directory the run writes to, created now and proven writable: finding out at the end would lose every result."""
    directory = Path(value).expanduser() if value else (default or Path.cwd() / "reports" / "out")
    if directory.exists() and not directory.is_dir():
        raise pytest.UsageError(f"{option}: {directory} exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".convt-write-test-"):
            pass
    except OSError as error:
        raise pytest.UsageError(f"{option}: cannot write to {directory}: {error.strerror or error}") from None
    return directory


def _compile_cache(value: str | None) -> Path | None:
    """``--compile-cache``: the option, else ``$CONVT_COMPILE_CACHE``, else ``~/.cache/convt-conformance``
    (``$XDG_CACHE_HOME`` respected); ``none`` turns the persistent caches off. Made and proven writable
    now: a cache that cannot be written would make every compiled call pay for its compilation silently."""
    option = "--compile-cache"
    if value is None and os.environ.get("CONVT_COMPILE_CACHE"):
        value, option = os.environ["CONVT_COMPILE_CACHE"], "CONVT_COMPILE_CACHE"
    if value is not None and not value.strip():
        raise pytest.UsageError(f"{option}: empty; give a directory, or 'none' for no persistent compilation cache")
    if value is not None and value.strip().lower() == "none":
        return None
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convt-conformance"
    return _writable_directory(value, option, default).resolve()


def parse(config) -> Options:
    """Every option checked; ``pytest.UsageError`` naming the first bad one."""
    impl = config.getoption("impl")
    if impl is not None:
        from .targets.impl import parse_spec

        try:
            parse_spec(impl)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    impl_arrays, impl_version, impl_dialect = _impl_options(config, impl)
    from .shard import parse as parse_shard

    shard = parse_shard(config.getoption("shard"))
    known = targets.targets()
    frameworks = _split("--frameworks", config.getoption("frameworks"), tuple(known))
    if config.getoption("frameworks") is None:
        frameworks = () if impl else tuple(name for name, target in known.items() if target.installed())
    for framework in frameworks:
        if not known[framework].installed():
            raise pytest.UsageError(f"--frameworks: {framework} is not installed (pip install 'convt-conformance[{known[framework].extra}]')")
    devices = _split("--devices", config.getoption("devices"), pattern=DEVICE)
    dtypes = _split("--dtypes", config.getoption("dtypes"), DTYPES)
    backends = _split("--backends", config.getoption("backends"), backend_names())
    modes = _split("--modes", config.getoption("modes"), MODES)
    max_examples = config.getoption("max_examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError(f"--max-examples must be >= 1; got {max_examples}")
    timeout = config.getoption("call_timeout")
    if not (math.isfinite(timeout) and timeout > 0):
        raise pytest.UsageError(f"--call-timeout must be a finite number of seconds > 0; got {timeout}")
    if not frameworks and impl is None:
        raise pytest.UsageError("nothing to test: no framework is installed and no --impl is given "
                                "(pip install 'convt-conformance[all-cpu]', or --impl MODULE_OR_FILE.py:FUNCTION)")
    return Options(
        frameworks=frameworks, devices=devices, dtypes=dtypes, backends=backends, modes=modes,
        compile_cache=_compile_cache(config.getoption("compile_cache")), impl=impl, impl_arrays=impl_arrays, impl_version=impl_version,
        impl_dialect=impl_dialect,
        report_dir=_writable_directory(config.getoption("report_dir")), call_timeout=timeout,
        known_discrepancies=config.getoption("known_discrepancies"), shard=shard,
    )


def _impl_options(config, impl) -> tuple[str, str | None, str]:
    """``--impl-arrays`` (numpy, torch, jax; the library installed), ``--impl-version`` and ``--impl-dialect``, each only with ``--impl``."""
    from .targets.impl import ARRAYS, DIALECTS

    arrays, version, dialect = config.getoption("impl_arrays"), config.getoption("impl_version"), config.getoption("impl_dialect")
    for option, value in (("--impl-arrays", arrays), ("--impl-version", version), ("--impl-dialect", dialect)):
        if value is not None and impl is None:
            raise pytest.UsageError(f"{option} applies to --impl, which is not given")
    dialect = "canonical" if dialect is None else dialect.strip()
    if dialect not in DIALECTS:
        raise pytest.UsageError(f"--impl-dialect: unknown dialect {dialect!r}; choose from {','.join(DIALECTS)}")
    if version is not None and not version.strip():
        raise pytest.UsageError("--impl-version: empty; give the version to record, e.g. --impl-version 1.2.0")
    if arrays is None:
        return "numpy", version, dialect
    arrays = arrays.strip()
    if arrays not in ARRAYS:
        raise pytest.UsageError(f"--impl-arrays: unknown array library {arrays!r}; choose from {','.join(ARRAYS)}")
    if arrays != "numpy" and importlib.util.find_spec(arrays) is None:
        raise pytest.UsageError(f"--impl-arrays {arrays}: {arrays} is not installed (pip install 'convt-conformance[{arrays}]')")
    return arrays, version, dialect


def check_profile(config) -> None:
    """``--hypothesis-profile``/``HYPOTHESIS_PROFILE`` must name a registered profile (hypothesis's own
    plugin would end the run with an INTERNALERROR)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    for option, name in (("--hypothesis-profile", config.getoption("hypothesis_profile", None)),
                         ("HYPOTHESIS_PROFILE", os.environ.get("HYPOTHESIS_PROFILE"))):
        if name is None:
            continue
        try:
            settings.get_profile(name)
        except InvalidArgument:
            raise pytest.UsageError(f"{option}: unknown hypothesis profile {name!r}; the suite's are dev, ci, nightly") from None
