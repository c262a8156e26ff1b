"""``numpy_missing_bias`` that appends each call's shapes and parameters to ``$CONVT_TEST_CALL_LOG``
(one JSON line a call): the shared example database's tests read which example a run tried first."""

import importlib.util
import json
import os
from pathlib import Path

# Run as a file (--impl tests/impls/logged_missing_bias.py:...), its folder is not on the import path.
_spec = importlib.util.spec_from_file_location("convt_test_numpy_missing_bias", Path(__file__).with_name("numpy_missing_bias.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_faulty = _module.conv_transpose


def call_line(x_shape, w_shape, bias, **parameters) -> str:
    return json.dumps({"x": list(x_shape), "w": list(w_shape), "bias": bias, **{key: _plain(value) for key, value in sorted(parameters.items())}})


def _plain(value):
    return [_plain(item) for item in value] if isinstance(value, (list, tuple)) else int(value)


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    with open(os.environ["CONVT_TEST_CALL_LOG"], "a") as log:
        log.write(call_line(x.shape, w.shape, bias is not None, stride=stride, padding=padding, output_padding=output_padding,
                            dilation=dilation, groups=groups) + "\n")
    return _faulty(x, w, bias, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
