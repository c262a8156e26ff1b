"""'SAME' is not one convention: every dialect's 'SAME'-like crops side by side (generated; docs/semantics.md, 'SAME conventions').

Per 1-D configuration ``(i, k, s, d)``, each column holds the canonical crops ``(cb, ca)`` and output
length that API produces, or the reason it rejects the mode. The reference column is TensorFlow's
'SAME' (``o = i*s``); a cell *differs* when its crops are not the reference's. The torch column has
no 'SAME': it shows the ``(padding, output_padding)`` that reproduce TensorFlow's crops, or why none do.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from . import jax, keras, onnx, tensorflow, torch
from .base import NotExpressible
from ..geometry import Geometry

REFERENCE = "tensorflow SAME"
# (column label, dialect, same_conventions key)
COLUMNS = (
    (REFERENCE, tensorflow.DIALECT, "SAME"),
    ("jax SAME", jax.DIALECT, "SAME"),
    ("keras same", keras.DIALECT, "same"),
    ("onnx SAME_UPPER", onnx.DIALECT, "SAME_UPPER"),
    ("onnx SAME_LOWER", onnx.DIALECT, "SAME_LOWER"),
    ("onnxruntime SAME_UPPER", onnx.ONNXRUNTIME, "SAME_UPPER"),
    ("onnxruntime SAME_LOWER", onnx.ONNXRUNTIME, "SAME_LOWER"),
)
TORCH = "torch (p, op)"


@dataclass(frozen=True)
class Cell:
    """One API's answer: crops and output length, or ``note`` (the reason, or torch's parameters)."""

    crops: tuple[int, int] | None
    output_size: int | None
    note: str
    differs: bool

    def as_dict(self) -> dict:
        return {"crops": None if self.crops is None else list(self.crops), "output_size": self.output_size, "note": self.note, "differs": self.differs}


@dataclass(frozen=True)
class Row:
    input_size: int
    kernel_size: int
    stride: int
    dilation: int
    cells: dict

    @property
    def differs(self) -> bool:
        return any(cell.differs for cell in self.cells.values())

    def as_dict(self) -> dict:
        return {
            "input_size": self.input_size, "kernel_size": self.kernel_size, "stride": self.stride, "dilation": self.dilation,
            "cells": {label: cell.as_dict() for label, cell in self.cells.items()},
        }


def same_row(input_size: int, kernel_size: int, stride: int, dilation: int = 1) -> Row:
    """Every column for one 1-D configuration."""
    cells = {}
    reference = None
    for label, dialect, key in COLUMNS:
        value = dialect.same_conventions(input_size, kernel_size, stride, dilation)[key]
        if isinstance(value, Geometry):
            crops = (value.crop_before[0], value.crop_after[0])
            reference = crops if reference is None else reference
            cells[label] = Cell(crops, value.output_size[0], "", crops != reference)
        else:
            cells[label] = Cell(None, None, str(value), True)
    cells[TORCH] = _torch_cell(tensorflow.DIALECT.same_conventions(input_size, kernel_size, stride, dilation)["SAME"])
    return Row(input_size, kernel_size, stride, dilation, cells)


def same_table(input_sizes, kernel_sizes, strides, dilations=(1,)) -> list[Row]:
    """Rows for every combination, in the order i, k, s, d."""
    return [same_row(i, k, s, d) for i, k, s, d in product(input_sizes, kernel_sizes, strides, dilations)]


def _torch_cell(reference: Geometry) -> Cell:
    try:
        native = torch.DIALECT.from_canonical(reference)
    except NotExpressible:
        return Cell(None, None, "not expressible", True)
    padding, output_padding = native["padding"][0], native["output_padding"][0]
    note = f"p={padding}" if output_padding == 0 else f"p={padding}, op={output_padding}"
    return Cell((reference.crop_before[0], reference.crop_after[0]), reference.output_size[0], note, False)
