"""For ``--impl-arrays torch``: asserts that it receives torch tensors (x, w and bias alike, on the CPU,
in one of its declared dtypes), logs the dtype of each call to ``CONVT_TEST_LOG`` (if set), and returns
the oracle's values as a tensor of the input's dtype."""

import os

import torch

import oracles
from conformance import Capabilities

__version__ = "0.3"


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    for name, array in (("x", x), ("w", w), ("bias", bias)):
        if array is not None:
            assert isinstance(array, torch.Tensor), f"{name} is a {type(array).__name__}, not a torch.Tensor"
            assert (array.dtype, array.device) == (x.dtype, torch.device("cpu")), f"{name}: {array.dtype} on {array.device}"
    assert str(x.dtype).removeprefix("torch.") in conv_transpose.capabilities.dtypes, x.dtype
    if os.environ.get("CONVT_TEST_LOG"):
        with open(os.environ["CONVT_TEST_LOG"], "a") as log:
            log.write(f"{str(x.dtype).removeprefix('torch.')}\n")
    as64 = lambda t: None if t is None else t.to(torch.float64).numpy()  # noqa: E731
    out = oracles.conv_transpose(as64(x), as64(w), as64(bias), stride=stride, padding=padding, output_padding=output_padding,
                                 dilation=dilation, groups=groups)
    return torch.from_numpy(out).to(x.dtype)


conv_transpose.capabilities = Capabilities(dtypes=("bfloat16", "float32", "float64"))
