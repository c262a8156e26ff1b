"""TensorFlow with oneDNN returns an empty output for any conv_transpose output_shape with a zero-length
dim, without checking the other dims: tensorflow-cpu 2.21, x86-64.

What it shows
-------------
tf.nn.conv_transpose computes the gradient of a convolution with respect to its input, so the
output_shape it is given must be one the forward convolution maps onto the input ('SAME': ceil(o/s) ==
i per dim). TensorFlow's own kernels check that (InvalidArgumentError); oneDNN's kernel
(MklConvCustomBackpropInputOp in tensorflow/core/kernels/mkl/mkl_conv_grad_input_ops.cc) first handles
an output with 0 elements as a corner case (allocate, zero, return) and so never checks it: an
output_shape that is empty in one dim and inadmissible in another comes back as an empty tensor.
Keras's Conv*DTranspose asks for such shapes itself: padding='same', output_padding=0 and an even
kernel give o = (i-1)*s, 0 over an input of 1 and one short elsewhere (the case below is Keras's
Conv3DTranspose over input (2, 1, 1), kernel (2, 1, 2)).

Run it twice; oneDNN is on by default only on CPUs with AVX-512-class features:

    TF_ENABLE_ONEDNN_OPTS=1 python tf_onednn_empty_output_shape.py   # the first three return shape (.., 0, ..)
    TF_ENABLE_ONEDNN_OPTS=0 python tf_onednn_empty_output_shape.py   # every call raises InvalidArgumentError
"""

import numpy as np
import tensorflow as tf

# (input, kernel, output_shape): each output_shape is inadmissible for 'SAME' at stride 1 (it must equal the input)
CASES = [
    ((2, 1, 1), (2, 1, 2), (1, 1, 0)),  # Keras's request: dim 0 one short, dim 2 empty
    ((2, 1), (2, 2), (1, 0)),
    ((2, 2), (1, 1), (1, 0)),
    ((2, 1), (2, 1), (1, 1)),           # inadmissible, not empty: oneDNN raises too
]

for input_size, kernel_size, output_shape in CASES:
    x = np.ones((1, *input_size, 1), np.float32)
    w = np.ones((*kernel_size, 1, 1), np.float32)
    try:
        y = tf.nn.conv_transpose(x, w, (1, *output_shape, 1), strides=1, padding="SAME")
        outcome = f"returned shape {tuple(y.shape)} (expected: an error, ceil(o/s) != i)"
    except (tf.errors.InvalidArgumentError, tf.errors.AbortedError) as error:
        outcome = f"raised {type(error).__name__}"
    print(f"input {input_size}, kernel {kernel_size}, output_shape {output_shape}: {outcome}")
