"""The NumPy oracle for transposed convolution: the canonical semantics, computed in float64.

It imports no deep-learning framework. See ``conv_transpose`` for the canonical form.
"""

from . import gradients
from .bounds import error_bound, sum_bound, unit_roundoff
from .epilogues import EPILOGUES, apply_epilogue, epilogue_bound
from .formulations import (
    conv_input_gradient,
    conv_matrix,
    conv_transpose_by_definition,
    conv_transpose_by_gradient,
    conv_transpose_by_matrix,
    conv_transpose_by_zero_insertion,
)
from .forward import conv, conv_output_size
from .geometry import Geometry
from .transpose import conv_transpose, output_size

__all__ = [
    "EPILOGUES",
    "Geometry",
    "apply_epilogue",
    "conv",
    "conv_input_gradient",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose",
    "conv_transpose_by_definition",
    "conv_transpose_by_gradient",
    "conv_transpose_by_matrix",
    "conv_transpose_by_zero_insertion",
    "epilogue_bound",
    "error_bound",
    "gradients",
    "output_size",
    "sum_bound",
    "unit_roundoff",
]
