"""The PyTorch adapter's repro text: the Python source a failing check's record carries, calling torch's
own API as the lane did (its backend and precision, the call, the epilogue, compiled in the lane's mode).

Split from ``conformance.targets.torch`` (module size; writing source text is a concern of its own). The
variants' ``repro``, ``repro_setup`` and ``repro_call`` delegate here. Pure string building: it runs in
the test process, so it imports no framework (nor the adapter), and it defines no ``TARGET``.
"""

from __future__ import annotations

import re

from ..cases import Case
from .base import Lane


class Expressions:
    """The repro's operand expressions, which a variant may wrap (memory formats)."""

    def __init__(self, case: Case, lane: Lane, conv_bias: bool | None = None):
        self.dtype, self.device = f"torch.{lane.dtype}", lane.device
        self.convert = f".to(device={lane.device!r}, dtype={self.dtype})"
        self.conv_bias = case.bias if conv_bias is None else conv_bias  # the bias epilogue adds it after the call
        self.x, self.w = f"torch.from_numpy(x){self.convert}", f"torch.from_numpy(w){self.convert}"
        self.bias = f"torch.from_numpy(bias){self.convert}" if self.conv_bias else "None"
        self.gradients = False  # the call is differentiated (no torch.no_grad around it)
        self.weight_leaf = "wt"  # what d w is taken with respect to (the module variant: its parameter)


def repro(variant, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
    """``Functional.repro``: the variant's setup and call (its ``repro_setup``, ``repro_call``) and the
    epilogue; in one ``torch.compile`` function on a compiled lane."""
    e = Expressions(case, lane, conv_bias=case.bias and epilogue != "bias")
    lines = _repro_header(lane) + [f"xt = {e.x}", f"wt = {e.w}", f"bt = {e.bias}"]
    arguments = "xt, wt, bt"
    if epilogue in ("bias", "residual", "scale"):
        lines.append(f"et = torch.from_numpy({epilogue}){e.convert}  # the epilogue's operand")
        arguments += ", et"
    e.x, e.w, e.bias = "xt", "wt", "bt"
    lines += variant.repro_setup(case, native, e)
    body = variant.repro_call(case, native, e) + _repro_epilogue(epilogue, case.ndim)
    if lane.mode == "eager":
        return "\n".join(lines + body)
    backend = "inductor" if lane.mode == "compiled" else lane.mode
    return "\n".join(lines + [f"def f({arguments}):"] + [f"    {line}" for line in body] + [
        "    return y",
        f"y = torch.compile(f, backend={backend!r}, fullgraph=True, dynamic=False)({arguments})  # the lane's mode: {lane.mode}",
        f"# to place a failure: backend='aot_eager' (dynamo and AOTAutograd, no inductor code generation), or f({arguments}) eagerly",
    ])


def gradients(variant, case: Case, native: dict, lane: Lane) -> str:
    """``Functional.repro_gradients``: the call as :func:`repro` makes it, on operands that require grad,
    then ``d x`` and ``d w`` of ``sum(upstream * y)`` by ``torch.autograd.grad`` (compiled lanes: through
    the compiled function, as the runner differentiates it), as canonical NumPy arrays."""
    e = Expressions(case, lane)
    e.gradients = True
    lines = _repro_header(lane) + [f"xt = {e.x}.requires_grad_()", f"wt = {e.w}.requires_grad_()", f"bt = {e.bias}",
                                   f"ut = torch.from_numpy(upstream){e.convert}  # the upstream gradient"]
    e.x, e.w, e.bias = "xt", "wt", "bt"
    lines += variant.repro_setup(case, native, e)
    body = variant.repro_call(case, native, e)
    if lane.mode == "eager":
        lines += body
    else:
        backend = "inductor" if lane.mode == "compiled" else lane.mode
        lines += ["def f(xt, wt, bt):"] + [f"    {line}" for line in body] + [
            "    return y", f"y = torch.compile(f, backend={backend!r}, fullgraph=True, dynamic=False)(xt, wt, bt)  # the lane's mode: {lane.mode}"]
    return "\n".join(lines + [
        f"dx, dw = torch.autograd.grad((y * ut).sum(), [xt, {e.weight_leaf}])",
        "dx, dw = dx.detach().cpu().double().numpy(), dw.detach().cpu().double().numpy()",
    ])


def functional_call(case: Case, native: dict, e: Expressions) -> list[str]:
    """``F.conv_transpose*d`` with the native parameters."""
    call = (f"torch.nn.functional.conv_transpose{case.ndim}d({e.x}, {e.w}, {e.bias}, stride={native['stride']}, "
            f"padding={native['padding']}, output_padding={native['output_padding']}, "
            f"dilation={native['dilation']}, groups={case.groups})")
    return [f"y = {call}"]


def emulated_slices(native: dict) -> list[str]:
    """The emulated variant's crop of the call's result, one ``start:stop`` per spatial dim."""
    index = ", ".join(f"{start}:{stop}" for start, stop in native["slices"])
    return [f"y = y[..., {index}]"]


def channels_last_operands(case: Case, e: Expressions) -> None:
    """Wrap ``x`` (given a batch dim of 1 if it has none) and ``w`` in ``torch.channels_last``."""
    batched = case.batch is not None
    e.x = f"{e.x}{'' if batched else '.unsqueeze(0)'}.to(memory_format=torch.channels_last)"
    e.w = f"{e.w}.to(memory_format=torch.channels_last)"


def channels_last_result(case: Case) -> list[str]:
    """The channels-last result made contiguous (and unbatched again)."""
    return [f"y = y{'' if case.batch is not None else '[0]'}.contiguous()"]


def compiled_module(variant, case: Case, native: dict, lane: Lane, epilogue: str | None = None) -> str:
    """``Module.repro`` on a compiled lane: a model holding the layer (the variant's ``repro_setup``) and
    the epilogue's constant, compiled for inference with ``freezing`` on."""
    e = Expressions(case, lane, conv_bias=case.bias and epilogue != "bias")
    lines = _repro_header(lane) + [
        "import torch._inductor.config",
        "torch._inductor.config.freezing = True  # inference with constants folded: how the lane compiles a module",
        f"xt = {e.x}", f"wt = {e.w}", f"bt = {e.bias}",
    ]
    if epilogue in ("bias", "residual", "scale"):
        lines.append(f"et = torch.from_numpy({epilogue}){e.convert}  # the epilogue's operand")
    e.x, e.w, e.bias = "xt", "wt", "bt"
    constant = "et" if epilogue in ("bias", "scale") else "None"
    operand = "residual" if epilogue == "residual" else "self.constant"
    epilogue_lines = [re.sub(r"\bet\b", operand, line) for line in _repro_epilogue(epilogue, case.ndim)]
    backend = "inductor" if lane.mode == "compiled" else lane.mode
    return "\n".join(lines + variant.repro_setup(case, native, e) + [
        "class Model(torch.nn.Module):",
        "    def __init__(self, conv, constant):",
        "        super().__init__()",
        "        self.conv = conv",
        "        self.constant = None if constant is None else torch.nn.Parameter(constant, requires_grad=False)",
        "",
        "    def forward(self, x, residual=None):",
        f"        y = self.conv(x, output_size={list(native['output_size'])})",
        *[f"        {line}" for line in epilogue_lines],
        "        return y",
        "",
        f"model = Model(module, {constant}).eval()",
        "with torch.no_grad():",
        f"    y = torch.compile(model, backend={backend!r}, fullgraph=True, dynamic=False)(xt{', et' if epilogue == 'residual' else ''})",
        "# eagerly: model(xt); without freezing: torch._inductor.config.freezing = False",
    ])


def module_setup(case: Case, native: dict, e: Expressions) -> list[str]:
    """``module``: the ``nn.ConvTranspose*d`` made and given the operands as its parameters."""
    e.weight_leaf = "module.weight"
    lines = [
        (f"module = torch.nn.ConvTranspose{case.ndim}d({case.in_channels}, {case.out_channels}, {case.kernel_size}, "
         f"stride={native['stride']}, padding={native['padding']}, dilation={native['dilation']}, "
         f"groups={case.groups}, bias={e.conv_bias}, device={e.device!r}, dtype={e.dtype})"),
        "with torch.no_grad():",
        f"    module.weight.copy_({e.w})",
    ]
    if e.conv_bias:
        lines.append(f"    module.bias.copy_({e.bias})")
    return lines


def module_call(native: dict, e: Expressions) -> list[str]:
    """The module's forward with ``output_size`` (inference, unless differentiated)."""
    call = f"y = module({e.x}, output_size={list(native['output_size'])})"
    return [call] if e.gradients else ["with torch.no_grad():", f"    {call}"]


def _repro_epilogue(epilogue, ndim: int) -> list[str]:
    """The repro's lines for ``epilogue`` on ``y`` (its operand ``et``), as the adapter's ``_epilogue`` computes it."""
    return {
        None: [],
        "bias": [f"y = y + et.reshape((-1,) + (1,) * {ndim})  # the bias as an op of its own"],
        "relu": ["y = torch.relu(y)"],
        "sigmoid": ["y = torch.sigmoid(y)"],
        "residual": ["y = y + et"],
        "scale": [f"y = y * et.reshape((-1,) + (1,) * {ndim})  # one factor per output channel"],
    }[epilogue]


def _repro_header(lane: Lane) -> list[str]:
    """The import and the settings that make torch take the lane's kernels and precision."""
    lines = ["import torch"]
    if lane.device == "cpu":
        lines.append(f"torch.backends.mkldnn.enabled = {lane.backend == 'onednn'}  # the lane's backend ({lane.backend})")
    else:
        lines.append(f"torch.backends.cudnn.enabled = {lane.backend == 'cudnn'}  # the lane's backend ({lane.backend})")
        mode = "tf32" if lane.precision == "tf32" else "ieee"
        lines += [f"torch.backends.cudnn.allow_tf32 = {mode == 'tf32'}",
                  f"torch.backends.cuda.matmul.allow_tf32 = {mode == 'tf32'}",
                  f"torch.backends.cudnn.conv.fp32_precision = {mode!r}  # torch >= 2.9"]
    return lines
