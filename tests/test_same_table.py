"""The generated 'SAME' table reproduces the reference rows of docs/semantics.md, 'SAME conventions', exactly
(the table below is copied from them)."""

import json

import pytest

from convt.cli import main
from oracles.dialects.same_table import same_row, same_table

# (i, k, s): TF = JAX = Keras, ONNX ref SAME_UPPER, ONNX ref SAME_LOWER, onnxruntime UPPER, LOWER, torch (p, op).
# onnxruntime's (3,1,2) cell reads "(0,0), length 5 not 6".
SECTION_3 = {
    (3, 3, 1): ((1, 1), (1, 1), (1, 1), ((1, 1), 3), ((1, 1), 3), "p=1"),
    (3, 2, 1): ((0, 1), (0, 1), (1, 0), ((0, 1), 3), ((1, 0), 3), None),
    (3, 3, 2): ((0, 1), (0, 1), (1, 0), ((0, 1), 6), ((1, 0), 6), None),
    (3, 4, 1): ((1, 2), (1, 2), (2, 1), ((1, 2), 3), ((2, 1), 3), None),
    (3, 1, 2): ((0, -1), (-1, 0), (0, -1), ((0, 0), 5), ((0, 0), 5), "p=0, op=1"),
    (3, 1, 3): ((0, -2), (-1, -1), (-1, -1), ((0, 0), 7), ((0, 0), 7), "p=0, op=2"),
}


@pytest.mark.parametrize("config", SECTION_3, ids=str)
def test_section_3_row(config):
    same, upper, lower, runtime_upper, runtime_lower, torch = SECTION_3[config]
    cells = same_row(*config).cells
    i, _, s = config
    for label in ("tensorflow SAME", "jax SAME", "keras same"):
        assert (cells[label].crops, cells[label].output_size) == (same, i * s), label
    assert cells["onnx SAME_UPPER"].crops == upper
    assert cells["onnx SAME_LOWER"].crops == lower
    assert (cells["onnxruntime SAME_UPPER"].crops, cells["onnxruntime SAME_UPPER"].output_size) == runtime_upper
    assert (cells["onnxruntime SAME_LOWER"].crops, cells["onnxruntime SAME_LOWER"].output_size) == runtime_lower
    torch_cell = cells["torch (p, op)"]
    assert torch_cell.note == (torch or "not expressible")
    assert torch_cell.differs == (torch is None)


def test_differing_cells_are_marked_against_tensorflow():
    cells = same_row(3, 4, 1).cells
    assert not cells["onnx SAME_UPPER"].differs and cells["onnx SAME_LOWER"].differs
    assert not any(cell.differs for cell in same_row(3, 3, 1).cells.values())


def test_table_covers_every_combination():
    rows = same_table(range(2, 4), range(1, 3), range(1, 3), (1, 2))
    assert [(r.input_size, r.kernel_size, r.stride, r.dilation) for r in rows][:3] == [(2, 1, 1, 1), (2, 1, 1, 2), (2, 1, 2, 1)]
    assert len(rows) == 2 * 2 * 2 * 2


def test_command_text_and_json(capsys):
    assert main(["same-table", "--kernel", "4", "--stride", "1", "--differing"]) == 0
    text = capsys.readouterr().out
    assert "(3,4,1,1)" in text and "(2,1) *" in text and "not expressible *" in text
    assert main(["same-table", "--kernel", "1", "--stride", "2", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["cells"]["onnxruntime SAME_UPPER"] == {"crops": [0, 0], "output_size": 5, "note": "", "differs": True}


def test_command_rejects_empty_range(capsys):
    assert main(["same-table", "--kernel", "4..2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "range '4..2' is empty" in err
