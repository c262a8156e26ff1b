"""TensorFlow 2.21 (CPU): transposed convolutions that run eagerly but fail inside tf.function.

What it shows
-------------
- ``conv3d-dilations`` (default): TensorFlow's Conv3D shape function (``Conv3DShape`` in
  ``tensorflow/core/framework/common_shape_fns.cc``) takes the height dilation for the width's and the
  reverse (``dilation_cols = dilations[2]; dilation_rows = dilations[3]`` for NDHWC). Eager kernels
  compute the right thing; inside any ``tf.function`` (with or without ``jit_compile``) graph
  construction fails where the two differ. The gradient of ``tf.nn.conv_transpose`` in 3-D is a
  Conv3D, so training a dilated 3-D transposed convolution in a ``tf.function`` fails too::

      ValueError: Negative dimension size caused by subtracting 3 from 2 for '{{node Conv3D}} = Conv3D[...,
      dilations=[1, 1, 1, 2, 1], ...]' with input shapes: [1,1,2,1,1], [1,2,1,1,1].

  (input D, H, W = 1, 2, 1; kernel 1, 2, 1; dilation on W only: every dim fits, but the shape function
  dilates H's kernel to 3.) The NumPy reference below is the transposed convolution's input gradient.
- ``keras-empty``: ``keras.layers.Conv3DTranspose(1, (1, 1, 2), padding='same', output_padding=0)`` on an
  input of length 1 has an output of length 0 in its last dim (Keras's formula). Eager and tf.function
  return the empty tensor (with oneDNN on, TensorFlow's default on x86); under
  ``tf.function(jit_compile=True)`` XLA raises ``InvalidArgumentError: Conv3DBackpropInputV2: Size of
  out_backprop doesn't match computed: actual = 1, computed = 0``.

Run::

    TF_CPP_MIN_LOG_LEVEL=2 python docs/repros/tf_compiled_conv_transpose.py [--case conv3d-dilations|keras-empty]

Exit status 1 is the bug (eager ran, the compiled function failed); 0 means both agree (fixed).
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def conv3d_dilations():
    """The input gradient of a dilated 3-D transposed convolution, eagerly and in tf.function."""
    x = tf.constant(np.ones((1, 1, 1, 1, 1)), tf.float32)  # NDHWC
    kernel = tf.constant(np.arange(1.0, 3.0).reshape(1, 2, 1, 1, 1), tf.float32)  # [kD, kH, kW, C_out, C_in]

    def input_gradient(x, kernel):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv_transpose(x, kernel, [1, 1, 2, 1, 1], strides=1, padding="VALID", dilations=[1, 1, 2])
            loss = tf.reduce_sum(y)
        return tape.gradient(loss, x)

    # d loss / d x = sum of the kernel taps that reach the output: 1 + 2.
    return input_gradient, (x, kernel), np.full((1, 1, 1, 1, 1), 3.0)


def keras_empty():
    import keras

    layer = keras.layers.Conv3DTranspose(1, (1, 1, 2), padding="same", output_padding=(0, 0, 0))
    x = tf.ones((1, 1, 1, 1, 1))
    layer.build(x.shape)
    return (lambda x: layer(x)), (x,), np.zeros((1, 1, 1, 0, 1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["conv3d-dilations", "keras-empty"], default="conv3d-dilations")
    function, arguments, reference = {"conv3d-dilations": conv3d_dilations, "keras-empty": keras_empty}[parser.parse_args(argv).case]()
    results = {}
    for name, run in (("eager", function), ("tf.function", tf.function(function)),
                      ("tf.function(jit_compile=True)", tf.function(function, jit_compile=True))):
        try:
            value = run(*arguments).numpy()
            agrees = value.shape == reference.shape and np.allclose(value, reference)
            results[name] = agrees
            print(f"{name:30s} shape {value.shape}, {'matches' if agrees else 'differs from'} the NumPy reference")
        except Exception as error:  # noqa: BLE001  (the failure is what is shown)
            results[name] = False
            lines = [line.strip() for line in str(error).splitlines() if "Error" in line or "Negative" in line or "Size of" in line]
            print(f"{name:30s} raised {type(error).__name__}: {(lines or [str(error)])[0][:200]}")
    return 0 if all(results.values()) or not results["eager"] else 1


if __name__ == "__main__":
    sys.exit(main())
