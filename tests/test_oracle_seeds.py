"""The worked examples the project started from, as exact tests of the oracle.

Every expected array below is transcribed from those examples (docs/semantics.md, 'Worked examples'),
not computed by the oracle.
"""

import numpy as np
import pytest

import oracles
from semantics_data import SEED000_OUTPUT


def as_nchw(rows):
    array = np.array(rows, dtype=np.float64)
    return array.reshape((1, 1) + array.shape)


def test_seed000_stride2_padding1_8x8():
    # seed 000: 4x4 ones, weight 1..16 as 4x4, ConvTranspose2d(1, 1, 4, 2, 1, bias=False).
    expected = SEED000_OUTPUT
    out = oracles.conv_transpose(np.ones((1, 1, 4, 4)), as_nchw(np.arange(1, 17).reshape(4, 4)), stride=2, padding=1)
    np.testing.assert_array_equal(out, as_nchw(expected))
    assert out[0, 0, 0, 0] == 6 and out[0, 0, 0, 1] == 12


def test_seed000_stride1_sum_of_scaled_kernels():
    # seed 000: input [[2,4],[0,1]], kernel [[3,1],[1,5]]: the sum of the four coloured buffers
    # (2*K at (0,0), 4*K at (0,1), 0*K at (1,0), 1*K at (1,1)).
    expected = [[6, 2 + 12, 4], [2, 10 + 4 + 3, 20 + 1], [0, 1, 5]]
    out = oracles.conv_transpose(as_nchw([[2, 4], [0, 1]]), as_nchw([[3, 1], [1, 5]]))
    np.testing.assert_array_equal(out, as_nchw(expected))


def test_seed001_1d_stride2():
    out = oracles.conv_transpose(np.array([[[2.0, 3.0]]]), np.array([[[1.0, 2.0, 3.0]]]), stride=2)
    np.testing.assert_array_equal(out, [[[2, 4, 9, 6, 9]]])


def test_seed001_2d_stride2_padding1_and_its_full_output():
    x, k = as_nchw([[1, 2], [3, 4]]), as_nchw([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    full = [[1, 1, 3, 2, 2], [0, 0, 0, 0, 0], [2, 2, 4, 2, 2], [0, 0, 0, 0, 0], [-3, -3, -7, -4, -4]]
    np.testing.assert_array_equal(oracles.conv_transpose(x, k, stride=2), as_nchw(full))
    np.testing.assert_array_equal(
        oracles.conv_transpose(x, k, stride=2, padding=1), as_nchw([[0, 0, 0], [2, 4, 2], [0, 0, 0]])
    )


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, [[0, 0, 1], [0, 4, 6], [4, 12, 9]]),
        ({"padding": 1}, [[4]]),
        ({"stride": 2}, [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]),
    ],
)
def test_seed002_d2l_examples(kwargs, expected):
    x = as_nchw([[0, 1], [2, 3]])
    np.testing.assert_array_equal(oracles.conv_transpose(x, x, **kwargs), as_nchw(expected))


def test_seed002_conv_then_conv_transpose_restores_16x16():
    z = np.random.default_rng(0).standard_normal((1, 10, 16, 16))
    w_conv = np.random.default_rng(1).standard_normal((20, 10, 5, 5))
    w_transpose = np.random.default_rng(2).standard_normal((20, 10, 5, 5))
    y = oracles.conv(z, w_conv, padding=2, stride=3)
    assert y.shape == (1, 20, 6, 6)
    assert oracles.conv_transpose(y, w_transpose, padding=2, stride=3).shape == z.shape


def test_seed002_convolution_as_sparse_matrix():
    # d2l 2.3: corr2d(arange(9) as 3x3, [[1,2],[3,4]]) and its 4x9 weight matrix W.
    x, k = as_nchw(np.arange(9).reshape(3, 3)), as_nchw([[1, 2], [3, 4]])
    matrix = [
        [1, 2, 0, 3, 4, 0, 0, 0, 0],
        [0, 1, 2, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 1, 2, 0, 3, 4, 0],
        [0, 0, 0, 0, 1, 2, 0, 3, 4],
    ]
    y = oracles.conv(x, k)
    np.testing.assert_array_equal(y, as_nchw([[27, 37], [57, 67]]))
    np.testing.assert_array_equal(oracles.conv_matrix(k, (3, 3)), matrix)
    # The transposed convolution of Y is W^T @ vec(Y).
    np.testing.assert_array_equal(
        oracles.conv_transpose(y, k)[0, 0].ravel(), np.array(matrix).T @ np.array([27, 37, 57, 67])
    )


def test_seed003_backward_is_transposed_matrix_and_direct_form_needs_the_flip():
    # seed 003: x = 1..16 as 4x4, a 3x3 kernel, upstream gradient of ones on the 2x2 conv output.
    w = as_nchw(np.arange(1, 10).reshape(3, 3))  # not symmetric, so a forgotten flip shows
    upstream = np.ones((1, 1, 2, 2))
    matrix = oracles.conv_matrix(w, (4, 4))
    grad = (matrix.T @ upstream.ravel()).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(oracles.conv_input_gradient(upstream, w, (4, 4)), grad)
    np.testing.assert_array_equal(oracles.conv_transpose(upstream, w), grad)
    # The "direct convolution" of section 4.3 equals it only with the kernel flipped.
    assert not np.array_equal(oracles.conv(upstream, w, padding=2), grad)
    np.testing.assert_array_equal(oracles.conv(upstream, w[:, :, ::-1, ::-1], padding=2), grad)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 48), (65, 1, 0)])
def test_seed004_sizes_160_to_224(kernel, stride, padding):
    assert oracles.output_size(160, kernel, stride=stride, padding=padding) == (224,)
