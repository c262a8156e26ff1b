"""Each framework's compiled mode in this process, as its worker runs it: the same answers as the oracle,
the compiled path really taken (not an eager fallback), epilogues and gradients through it."""

import numpy as np
import pytest

import oracles
from conformance import operands
from conformance.cases import Case
from conformance.targets.base import Lane, Unsupported

from in_process import InProcess

CASE = Case(batch=2, groups=1, in_per_group=3, out_per_group=2, input_size=(4, 5), kernel_size=(3, 2), bias=True, seed=3,
            stride=(2, 2), dilation=(1, 1), padding=((1, 1), (1, 0)), output_padding=(1, 0))


def expected(case, x, w, b, epilogue=None, operand=None):
    y = oracles.conv_transpose(x.astype(float), w.astype(float), None if epilogue == "bias" else b, **case.oracle_kwargs())
    if epilogue is None:
        return y
    extra = ({epilogue: operand.astype(float).reshape(-1, 1, 1)} if epilogue in ("bias", "scale")
             else {"residual": operand.astype(float)} if epilogue == "residual" else {})
    return oracles.apply_epilogue(epilogue, y, **extra)


def assert_close(actual, wanted, dtype="float32"):
    assert actual.shape == wanted.shape
    assert np.max(np.abs(actual - wanted)) < (1e-5 if dtype == "float32" else 1e-12)


def epilogue_operand(name, case, shape, bias, dtype):
    """What the runner hands a variant for epilogue ``name``."""
    return {"bias": bias, "residual": operands.residual(case, shape, dtype), "scale": operands.scale(case, dtype)}.get(name)


def check_epilogues(process, variant, lane):
    api = process.target.variant(variant)
    x, w, b = operands.for_lane(CASE, lane.dtype)
    shape = expected(CASE, x, w, b).shape
    for name in api.epilogues:
        operand = epilogue_operand(name, CASE, shape, b, lane.dtype)
        out = api.call(process.runtime, api.native(CASE), x, w, None if name == "bias" else b, 1, lane, epilogue=(name, operand))
        assert_close(out, expected(CASE, x, w, b, name, operand), lane.dtype)


@pytest.fixture(scope="module")
def torch_process():
    pytest.importorskip("torch")
    from conformance.targets.torch import TARGET

    return InProcess(TARGET)


@pytest.mark.parametrize("variant", ["functional", "emulated", "module", "channels_last"])
@pytest.mark.parametrize("mode", ["compiled", "aot_eager"])
def test_torch_compiled_variants_match_the_oracle(torch_process, variant, mode):
    lane = Lane("cpu", "float32", "default", "onednn", mode)
    x, w, b = operands.for_lane(CASE, "float32")
    assert_close(torch_process.forward(variant, CASE, x, w, b, lane), expected(CASE, x, w, b))
    # The compiled function is kept for the case and reused: a second call compiles nothing.
    before = len(torch_process.runtime._cache)
    torch_process.forward(variant, CASE, x, w, b, lane)
    assert len(torch_process.runtime._cache) == before > 0


def test_torch_compiled_module_takes_each_calls_weights(torch_process):
    """The module is made once per case (dynamo cannot trace creating parameters): a later call with other
    operands must still compute with its own, not the first call's (float32: in this process oneDNN was
    enabled before, and inductor then cannot compile a frozen float64 model, see below)."""
    lane = Lane("cpu", "float32", "default", "onednn", "compiled")
    for seed in (1, 2):
        case = Case(**{**CASE.__dict__, "seed": seed})
        x, w, b = operands.for_lane(case, "float32")
        assert_close(torch_process.forward("module", case, x, w, b, lane), expected(case, x, w, b))
        dx, dw = torch_process.gradients("module", case, x, w, b, operands.upstream(case, expected(case, x, w, b).shape, "float32"), lane)
        kw = case.oracle_kwargs()
        upstream = operands.upstream(case, expected(case, x, w, b).shape, "float32").astype(float)
        assert_close(dw, oracles.gradients.weight_gradient(x.astype(float), upstream, case.kernel_size, **kw))


def test_torch_compiled_epilogues_and_gradients(torch_process):
    lane = Lane("cpu", "float32", "default", "onednn", "compiled")
    check_epilogues(torch_process, "functional", lane)
    x, w, b = operands.for_lane(CASE, "float32")
    upstream = operands.upstream(CASE, expected(CASE, x, w, b).shape, "float32")
    for variant in ("functional", "module"):
        dx, dw = torch_process.gradients(variant, CASE, x, w, b, upstream, lane)
        kw = CASE.oracle_kwargs()
        assert_close(dx, oracles.gradients.input_gradient(upstream.astype(float), w.astype(float), CASE.input_size, **kw))
        assert_close(dw, oracles.gradients.weight_gradient(x.astype(float), upstream.astype(float), CASE.kernel_size, **kw))


def test_torch_compilation_never_falls_back_to_eager_silently(torch_process):
    """dynamo's recompilation limit (8 per function by default) would run later cases eagerly without a word."""
    import torch

    config = torch._dynamo.config
    assert config.fail_on_recompile_limit_hit and config.recompile_limit > 10_000


@pytest.fixture(scope="module")
def jax_process():
    pytest.importorskip("jax")
    from conformance.targets.jax import TARGET

    return InProcess(TARGET)


@pytest.mark.parametrize("variant", ["conv_transpose", "conv_transpose_kernel", "channels_first", "conv_general_dilated", "vjp"])
def test_jax_eager_runs_op_by_op_and_compiled_jits(jax_process, variant):
    x, w, b = operands.for_lane(CASE, "float64")
    jax_process.runtime._cache.clear()
    assert_close(jax_process.forward(variant, CASE, x, w, b, Lane("cpu", "float64")), expected(CASE, x, w, b), "float64")
    assert not jax_process.runtime._cache  # nothing jitted
    assert_close(jax_process.forward(variant, CASE, x, w, b, Lane("cpu", "float64", mode="compiled")), expected(CASE, x, w, b), "float64")
    assert len(jax_process.runtime._cache) == 1
    check_epilogues(jax_process, variant, Lane("cpu", "float32", mode="compiled"))


@pytest.fixture(scope="module")
def tf_process():
    from tensorflow_target import load_runtime

    load_runtime()
    from conformance.targets.tensorflow import TARGET

    return InProcess(TARGET)


def test_tensorflow_xla_runs_what_the_cpu_kernels_refuse(tf_process):
    """Dilation with explicit pads: TF's CPU kernels refuse it (Eigen), XLA compiles it; so compiled lanes
    draw the whole space on every backend (``Nn.space``)."""
    case = Case(**{**CASE.__dict__, "dilation": (2, 1), "output_padding": (0, 0)})
    x, w, b = operands.for_lane(case, "float32")
    with pytest.raises(Unsupported):
        tf_process.forward("nn", case, x, w, b, Lane("cpu", "float32", "default", "eigen"))
    compiled = Lane("cpu", "float32", "default", "eigen", "compiled")
    assert_close(tf_process.forward("nn", case, x, w, b, compiled), expected(case, x, w, b))
    api = tf_process.target.variant("nn")
    space = api.space(compiled)  # dilation and groups anywhere; crops as the API spells them (explicit pads 2-D, at least 0)
    assert space.get("dilation", "any") == space.get("groups", "any") == "any" and api.space(Lane("cpu", "float32", "default", "eigen"))["dilation"] == "none"


@pytest.mark.parametrize("variant", ["nn", "keras"])
def test_tensorflow_compiled_epilogues(tf_process, variant):
    global CASE
    lane = Lane("cpu", "float32", "default", "eigen", "compiled")
    valid = Case(**{**CASE.__dict__, "padding": ((0, 0), (0, 0)), "output_padding": (0, 0)})  # Keras: 'valid'
    saved, CASE = CASE, valid
    try:
        check_epilogues(tf_process, variant, lane)
    finally:
        CASE = saved


def check_repros(process, variants, lane, case, to_numpy=np.asarray):
    """Each variant's repro, run as a maintainer would (NumPy operands in scope), gives what the adapter
    gave: the call and the epilogue, in the lane's mode (compiled repros compile)."""
    x, w, b = operands.for_lane(case, lane.dtype)
    shape = expected(case, x, w, b).shape
    residual = operands.residual(case, shape, lane.dtype)
    for variant in variants:
        api = process.target.variant(variant)
        for epilogue in (None, *api.epilogues):
            snippet = api.repro(case, api.native(case), lane, epilogue=epilogue)
            if lane.mode != "eager":
                assert "compile" in snippet or "jit" in snippet, snippet
            scope = {"x": x, "w": w, "bias": b, "residual": residual, "scale": operands.scale(case, lane.dtype)}
            exec(compile(snippet, f"<repro {variant} {epilogue}>", "exec"), scope)  # noqa: S102  (the point of the test)
            operand = epilogue_operand(epilogue, case, shape, b, lane.dtype)
            got = api.call(process.runtime, api.native(case), x, w, None if epilogue == "bias" else b, case.groups, lane,
                           epilogue=None if epilogue is None else (epilogue, operand))
            np.testing.assert_allclose(to_numpy(scope["y"]), got, rtol=1e-6, atol=1e-6, err_msg=snippet)


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_torch_repros_compile_and_apply_the_epilogue(torch_process, mode):
    check_repros(torch_process, ["functional", "emulated", "module", "channels_last"],
                 Lane("cpu", "float32", "default", "onednn", mode), CASE, lambda y: y.detach().numpy())


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_jax_repros_jit_and_apply_the_epilogue(jax_process, mode):
    variants = ["conv_transpose", "conv_transpose_kernel", "channels_first", "conv_general_dilated", "vjp"]
    check_repros(jax_process, variants, Lane("cpu", "float32", mode=mode), CASE)
    unbatched = Case(**{**CASE.__dict__, "batch": None})
    check_repros(jax_process, variants, Lane("cpu", "float32", mode=mode), unbatched)


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_tensorflow_repros_compile_and_apply_the_epilogue(tf_process, mode):
    valid = Case(**{**CASE.__dict__, "padding": ((0, 0), (0, 0)), "output_padding": (0, 0)})  # Keras: 'valid'
    lane = Lane("cpu", "float32", "default", "eigen", mode)
    check_repros(tf_process, ["nn", "keras"], lane, valid)
    check_repros(tf_process, ["nn", "keras"], lane, Case(**{**valid.__dict__, "batch": None}))
    if tf_process.runtime.onednn:
        check_repros(tf_process, ["nn_channels_first"], Lane("cpu", "float32", "default", "onednn", mode), valid)


def test_inductor_remembers_onednn_in_the_process(tmp_path):
    """Why torch has a worker per CPU backend: once inductor has compiled a frozen model with oneDNN
    enabled, it prepacks transposed-convolution weights for oneDNN from then on, even with oneDNN disabled,
    so a float64 model (which oneDNN cannot take) then fails to compile; in a process that never enabled
    oneDNN it compiles. Each order runs in a fresh interpreter."""
    pytest.importorskip("torch")
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys, torch, torch._inductor.config
        torch._inductor.config.freezing = True
        for dtype, onednn in [step.split(":") for step in sys.argv[1:]]:
            torch.backends.mkldnn.enabled = onednn == "1"
            model = torch.nn.ConvTranspose2d(3, 2, 2, stride=2).to(getattr(torch, dtype)).eval()
            torch._dynamo.reset()
            with torch.no_grad():
                try:
                    torch.compile(model, fullgraph=True, dynamic=False)(torch.ones(1, 3, 2, 2, dtype=getattr(torch, dtype)))
                    print(dtype, "compiled")
                except Exception as error:
                    print(dtype, "raised", type(error).__name__)
    """)
    environment = {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(*steps):
        result = subprocess.run([sys.executable, "-c", script, *steps], capture_output=True, text=True, timeout=300, env=environment)
        return [line for line in result.stdout.splitlines() if line.startswith("float")]

    assert run("float64:0") == ["float64 compiled"]
    assert run("float32:1", "float64:0") == ["float32 compiled", "float64 raised BackendCompilerFailed"]
