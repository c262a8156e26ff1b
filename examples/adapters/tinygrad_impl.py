"""tinygrad (tested with 0.14.0, CPU device) as an ``--impl``: ``Tensor.conv_transpose2d``, forward and autograd.

    pytest --pyargs conformance --impl examples/adapters/tinygrad_impl.py:conv_transpose --report-dir reports/tinygrad

tinygrad's CPU device compiles every kernel with ``clang`` at run time: install it first (Debian:
``apt-get install clang``); without it tinygrad raises "no usable devices". Each new shape compiles
new kernels (~0.2-0.6 s a call here); repeated shapes hit tinygrad's own kernel cache.

Mapping (``Tensor.conv_transpose2d(weight, bias, groups, stride, dilation, padding, output_padding)``
takes PyTorch's arguments and weight layout ``(C_in, C_out/groups, *k)``, which is the canonical one):

- Despite the name it runs any number of spatial dims ("NOTE: unlike PyTorch, this implementation is
  not limited to only 2d transposed convolutions"): ndims 1, 2, 3.
- ``padding`` accepts ``2*ndim`` ints, one ``(before, after)`` pair per dim, **last dim first**
  (``(left, right, top, bottom, ...)``, as ``torch.nn.functional.pad``): the canonical pairs reversed
  and flattened. Each pad crops the full output exactly like the canonical crop.
- A negative pad (the canonical "append zeros") becomes a larger zero pad of the inner ``conv2d``,
  whose source says padding may be negative ("_pad_constant handles the shrink").
- ``output_padding`` is added to the inner end pad with no range check (torch's ``op < max(s, d)``
  is not enforced), so any value is the documented formula: ``output_padding="any"``.
- ``bias``, ``groups`` (3-D too) and ``dilation`` are arguments.
- Unbatched ``x`` is not accepted (``conv2d`` asserts ``x.ndim == w.ndim``): declared away.
- dtypes: float16, float32, float64 are all native on the CPU device (half accumulates in float32).
- Gradients: tinygrad's autograd through the same op (``backward`` below).
- Compiled in this process (``PARALLEL=0`` while a result is realised): the suite calls one case at
  a time, and a failing compile then keeps its C source, so that ``Unsupported`` can say why.
- Where the CPU compiler rejects tinygrad's generated C (clang 14, Debian 12, on some float16
  gradients: ``invalid conversion between ext-vector type '__fp164' and 'float4'``), the call raises
  ``conformance.Unsupported`` with clang's version and its error: this machine's toolchain cannot
  build the kernel, which says nothing about the convolution's values. float16 stays declared.
- Known findings (tinygrad 0.14.0): ``examples/adapters/known_discrepancies.toml``, conditions in
  ``known_predicates.py``.

Source read (tinygrad/tinygrad, identical to the 0.14.0 wheel):
https://github.com/tinygrad/tinygrad/blob/a9069c177a9da9cca18593edf55acd2e6073cca6/tinygrad/mixin/op.py#L1566-L1646
(``conv2d``, ``conv_transpose2d``), #L282-L289 (``_pad_constant``), and
https://github.com/tinygrad/tinygrad/blob/a9069c177a9da9cca18593edf55acd2e6073cca6/tinygrad/helpers.py#L54-L59
(``flat_to_grouped``, ``resolve_pool_pads``: the padding orders). Docs: https://docs.tinygrad.org/tensor/ops/
"""

from __future__ import annotations

import importlib.metadata
import subprocess


from conformance import Capabilities, Unsupported

try:
    from tinygrad import Context, Tensor
except ImportError as error:  # fail at load with the reason, not on the first case
    raise ImportError(f"examples/adapters/tinygrad_impl.py needs tinygrad (pip install tinygrad): {error}") from None

__version__ = importlib.metadata.version("tinygrad")  # the version every record carries (known entries match on it)
DEVICE = "CPU"  # pinned: tinygrad would otherwise pick the first device it finds (CUDA, METAL, ...)


def _compiler_failure(error: subprocess.CalledProcessError) -> str:
    """Why the compiler refused tinygrad's kernel: its version and first error line. clang's stderr went to the
    terminal, so the failing source (a local of the compile call, in this process's traceback) is compiled once more."""
    compiler = error.cmd[0] if isinstance(error.cmd, (list, tuple)) and error.cmd else "the C compiler"
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        version = compiler
    source, frame = None, error.__traceback__
    while frame is not None:  # the innermost frame holding the kernel's C source (tinygrad's ClangCompiler.compile)
        if isinstance(frame.tb_frame.f_locals.get("src"), str):
            source = frame.tb_frame.f_locals["src"]
        frame = frame.tb_next
    reason = f"exit status {error.returncode}"
    if source is not None:
        try:
            stderr = subprocess.run(error.cmd, input=source.encode(), capture_output=True, timeout=120).stderr.decode(errors="replace")
            reason = next((line[line.index("error:"):].strip() for line in stderr.splitlines() if "error:" in line), reason)
        except (OSError, subprocess.SubprocessError):
            pass
    return f"tinygrad's CPU backend cannot compile this kernel with {version}: {reason}"


def _realized(*tensors):
    """The tensors as NumPy arrays; ``Unsupported`` where this machine's C compiler rejects a kernel tinygrad generated."""
    try:
        with Context(PARALLEL=0):
            return tuple(t.numpy() for t in tensors)
    except subprocess.CalledProcessError as error:
        raise Unsupported(_compiler_failure(error)) from None


def _arguments(stride, padding, output_padding, dilation, groups) -> dict:
    # Canonical (before, after) pairs, first dim first -> tinygrad's flat pads, last dim first.
    flat = tuple(p for before, after in reversed(padding) for p in (before, after))
    return dict(groups=groups, stride=tuple(stride), dilation=tuple(dilation), padding=flat, output_padding=tuple(output_padding))


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    out = Tensor(x, device=DEVICE).conv_transpose2d(
        Tensor(w, device=DEVICE), None if bias is None else Tensor(bias, device=DEVICE),
        **_arguments(stride, padding, output_padding, dilation, groups))
    return _realized(out)[0]


def backward(x, w, bias, upstream, *, stride, padding, output_padding, dilation, groups):
    """``(dx, dw)`` of ``sum(upstream * conv_transpose(x, w, bias))`` by tinygrad's autograd."""
    xt, wt = Tensor(x, device=DEVICE), Tensor(w, device=DEVICE)
    bt = None if bias is None else Tensor(bias, device=DEVICE)
    out = xt.conv_transpose2d(wt, bt, **_arguments(stride, padding, output_padding, dilation, groups))
    dx, dw = (out * Tensor(upstream, device=DEVICE)).sum().gradient(xt, wt)  # Tensor.gradient: no .grad state
    return _realized(dx, dw)


conv_transpose.backward = backward
conv_transpose.capabilities = Capabilities(
    ndims=(1, 2, 3),
    unbatched=False,  # conv2d: "Input Tensor shape ... does not match the shape of the weights"
    output_padding="any",
    dtypes=("float16", "float32", "float64"),
    gradients="backward",
)
