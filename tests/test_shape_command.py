"""``convt shape``: a dialect's parameters -> output size and canonical crops; bad input is one line and exit 2."""

import json

import pytest

from convt.cli import main


def run_json(capsys, *argv):
    assert main(["shape", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_tensorflow_same_odd_total_crop_is_not_expressible_in_torch(capsys):
    # docs/semantics.md, 'SAME conventions', (3,3,2): TF 'SAME' crops (0, 1); torch can only crop at least as much at the start.
    result = run_json(capsys, "--dialect", "tensorflow", "--input", "3", "--kernel", "3", "--strides", "2", "--padding", "SAME", "--output-shape", "6")
    assert (result["crop_before"], result["crop_after"], result["output_size"], result["full_size"]) == ([0], [1], [6], [7])
    assert "crop_before=0 < crop_after=1" in result["torch"]["not_expressible"]


def test_torch_module_output_size(capsys):
    # seed 002: Conv2d(k=5, p=2, s=3) takes 16 and 17 to 6; ConvTranspose2d(k=5, p=2, s=3) gives 16 back,
    # and forward(output_size=17) resolves the ambiguity with output_padding 1.
    result = run_json(capsys, "--dialect", "torch", "--input", "6,6", "--kernel", "5,5", "--stride", "3", "--padding", "2")
    assert result["output_size"] == [16, 16]
    result = run_json(capsys, "--dialect", "torch", "--input", "6,6", "--kernel", "5,5", "--stride", "3", "--padding", "2", "--output-size", "17,16")
    assert result["output_size"] == [17, 16]
    assert result["torch"]["native"]["output_padding"] == [1, 0]


def test_jax_explicit_pads_mean_padding_of_the_dilated_input(capsys):
    result = run_json(capsys, "--dialect", "jax", "--input", "4", "--kernel", "3", "--strides", "2", "--padding", "2:1")
    assert (result["crop_before"], result["crop_after"]) == ([0], [1])  # K-1-a, K-1-b
    consistent = run_json(capsys, "--dialect", "jax", "--input", "4", "--kernel", "3", "--strides", "2", "--padding", "2:1", "--use-consistent-padding")
    assert (consistent["crop_before"], consistent["crop_after"]) == ([2], [1])


def test_onnx_auto_pad_and_text_output(capsys):
    assert main(["shape", "--dialect", "onnx", "--input", "3", "--kernel", "4", "--auto-pad", "SAME_LOWER"]) == 0
    text = capsys.readouterr().out
    # docs/semantics.md, 'SAME conventions', (3,4,1): SAME_LOWER crops (2, 1); torch would need output_padding 1 at stride 1.
    assert "crops (before, after) = ((2, 1),)" in text and "output_padding = cb - ca = 1 is not < stride (1)" in text
    assert main(["shape", "--dialect", "onnx", "--input", "3", "--kernel", "4", "--strides", "2", "--auto-pad", "SAME_LOWER"]) == 0
    assert "torch:  conv_transpose1d(x, w, stride=(2,), padding=(1,), output_padding=(0,), dilation=(1,))" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dialect", "torch", "--input", "4", "--kernel", "4", "--auto-pad", "SAME_UPPER"], "dialect torch has no parameter --auto-pad"),
        (["--dialect", "tensorflow", "--input", "3", "--kernel", "3", "--strides", "2", "--padding", "SAME", "--output-shape", "9"], "tensorflow rejects this configuration: output_shape (9,) is inadmissible"),
        (["--dialect", "torch", "--input", "4", "--kernel", "4", "--stride", "1", "--output-padding", "1"], "torch rejects this configuration"),
        (["--dialect", "torch", "--input", "4", "--kernel", "x"], "expected an integer; got 'x'"),
        (["--dialect", "torch", "--input", "0", "--kernel", "3"], "kernel and input sizes must be positive"),
        (["--dialect", "onnx", "--input", "3", "--kernel", "3", "--auto-pad", "SAME"], "--auto-pad must be one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"),
        (["--dialect", "caffe", "--input", "3", "--kernel", "3"], "invalid choice: 'caffe'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["shape", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convt: error: ") and err.count("\n") == 1 and message in err, err
