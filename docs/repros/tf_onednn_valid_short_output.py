"""TensorFlow 2.21 with oneDNN (the x86 default) accepts an inadmissible 'VALID' output_shape of tf.nn.conv_transpose.

What it shows
-------------
For padding='VALID' TensorFlow requires the output length o to satisfy L <= o <= L + s - 1, with
L = (i-1)*s + K the full length. Where the input has length 1 and L - s < o < L, oneDNN's kernel returns
the first o outputs instead of refusing: ``tf.nn.conv_transpose(ones (1, 1, 1), ones (2, 1, 1), [1, 1, 1],
strides=2, padding='VALID')`` returns ``[1.]``. TensorFlow's own kernels (``TF_ENABLE_ONEDNN_OPTS=0``)
raise InvalidArgumentError ("Conv2DCustomBackpropInput: Size of out_backprop doesn't match computed"),
and so does oneDNN for every other inadmissible VALID length (135 configurations with i, k, s <= 3
tried, 5 accepted, all with i = 1).

Run::

    TF_ENABLE_ONEDNN_OPTS=1 python docs/repros/tf_onednn_valid_short_output.py

Exit status 1 is the bug (a result came back); 0 means TensorFlow raised (fixed, or oneDNN off).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main() -> int:
    x = tf.constant(np.ones((1, 1, 1)), tf.float32)  # NWC, length 1
    kernel = tf.constant(np.ones((2, 1, 1)), tf.float32)  # k = 2: L = 2, 'VALID' admits o in [2, 3]
    try:
        y = tf.nn.conv_transpose(x, kernel, [1, 1, 1], strides=2, padding="VALID")
    except (tf.errors.InvalidArgumentError, tf.errors.AbortedError, ValueError) as error:
        print(f"raised {type(error).__name__}: {str(error).splitlines()[0][:160]}")
        return 0
    print(f"returned {y.numpy().ravel()} for output_shape [1, 1, 1], which 'VALID' does not admit (L = 2)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
