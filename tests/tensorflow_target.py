"""Helpers shared by the TensorFlow adapter's self-tests (``test_target_tensorflow*.py``): the runtime,
operands rounded to a dtype, the dialects' predictions, TF's own can't-run texts, the forward bound.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import hypothesis
from hypothesis import settings

import oracles
from oracles.bounds import unit_roundoff
from conformance.targets.tensorflow import TARGET
from oracles.dialects import keras as keras_dialect
from oracles.dialects import tensorflow as tf_dialect

FEW = settings(max_examples=25, deadline=None)
VARIANTS = ("nn", "nn_channels_first", "keras", "keras_channels_first")

# What TensorFlow's CPU kernels say when they lack a feature (tensorflow/core/kernels/conv_grad_input_ops.cc,
# conv_grad_ops_3d.cc, mkl/mkl_conv_grad_input_ops.cc), as TF 2.21 raises them; Keras wraps any of them
# in a first line of its own.
TF_CANNOT_RUN = (
    "Conv2DCustomBackpropInputOp only supports NHWC",
    "Conv3DBackpropInputOpV2 only supports NDHWC on the CPU",
    "Current CPU implementations do not yet support dilation rates larger than 1",  # 2-D (and 1-D)
    "Current CPU implementation does not yet support dilation rates larger than 1",  # 3-D
    "Gradients for grouped convolutions are not supported on CPU",
    "input and filter_sizes must have the same number of channels",  # grouped 3-D, Eigen
    "input and filter must have the same depth",  # grouped 3-D, oneDNN
)
KERAS_WRAPPER = re.compile(r"Exception encountered when calling Conv[123]DTranspose\.call\(\)")


def load_runtime():
    """The adapter's runtime in this process, for each module's ``runtime`` fixture (skips without TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("tensorflow")
    return TARGET.runtime()


def assert_quotes_tf(raised: pytest.ExceptionInfo, keras: bool = False) -> None:
    """The Unsupported message quotes what TF (or Keras) raised, and that is one of their own can't-run texts."""
    quoted = re.search(r"\(TF (\w+): (.*)\)$", str(raised.value))
    assert quoted and quoted[1] == "InvalidArgumentError", raised.value
    assert (KERAS_WRAPPER.match(quoted[2]) if keras else quoted[2].startswith(TF_CANNOT_RUN)), raised.value


def rounded(array, dtype: str):
    """``array`` rounded to ``dtype`` and held in float64 (bfloat16 through ml_dtypes, which TF ships)."""
    if array is None:
        return None
    if dtype == "bfloat16":
        import ml_dtypes

        return np.asarray(array).astype(ml_dtypes.bfloat16).astype(np.float64)
    return np.asarray(array).astype(dtype).astype(np.float64)


def operands(case, dtype: str):
    return tuple(rounded(a, dtype) for a in case.arrays())


def predicted_unsupported(variant: str, native: dict, case, dtype: str, onednn: bool) -> str | None:
    """The dialect's reason this CPU build cannot run the call, or None."""
    if variant.startswith("keras"):
        return keras_dialect.cpu_support(case.input_size, case.kernel_size, dtype=dtype, onednn=onednn, **native)
    outcome = tf_dialect.cpu_outcome(case.input_size, case.kernel_size, dtype=dtype, onednn=onednn, groups=case.groups, **native)
    assert outcome.kind != "rejected", outcome  # from_canonical must give arguments TF accepts
    return outcome.reason if outcome.kind == "unsupported" else None


def assert_close(y, expected, bound, what):
    assert y.shape == expected.shape, f"shape {y.shape}, expected {expected.shape} [{what}]"
    excess = np.abs(np.asarray(y, np.float64) - expected) - bound
    assert excess.max(initial=0) <= 0, f"max |error| - bound = {excess.max():.3g} at {np.unravel_index(excess.argmax(), y.shape)} [{what}]"


def keras_expected(case, x, w, b, dtype: str, native: dict, geometry=None):
    """``(expected, bound)`` of a Keras layer's output: the oracle's, with the bias added as the layer adds it,
    along the last spatial axis where ``keras_dialect.bias_on_last_axis`` says so (its channels_first quirk)."""
    geometry = geometry or case.geometry
    kwargs = dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), groups=case.groups)
    expected = oracles.conv_transpose(x, w, **kwargs)
    if b is None:
        return expected, forward_bound(case, x, w, None, dtype, geometry)
    if not keras_dialect.bias_on_last_axis(geometry.output_size, case.out_channels, **native):
        return expected + b.reshape((-1,) + (1,) * geometry.ndim), forward_bound(case, x, w, b, dtype, geometry)
    hypothesis.event("bias on the last axis (Keras quirk)")
    expected = expected + b  # broadcasts along the last spatial axis, as Keras does
    # The oracle's bound charges each channel its own bias; here the bias added is another one.
    # One more rounded addition: |fl(c + b) - (c + b)| <= u |c + b|, on top of the bias-free bound.
    u = unit_roundoff(dtype) + unit_roundoff("float64")
    return expected, forward_bound(case, x, w, None, dtype, geometry) * (1 + u) + u * np.abs(expected)


def forward_bound(case, x, w, b, dtype: str, geometry=None):
    """float64: twice the float64 bound (the oracle rounds too); other dtypes: the dtype's bound,
    summation in ``dtype`` (the loosest: half types may accumulate wider)."""
    kwargs = case.oracle_kwargs() if geometry is None else dict(stride=geometry.stride, dilation=geometry.dilation, padding=geometry.padding(), groups=case.groups)
    scale = 2.0 if dtype == "float64" else 1.0
    return scale * oracles.error_bound(x, w, b, dtype=dtype, **kwargs) + oracles.error_bound(x, w, b, dtype="float64", **kwargs)
