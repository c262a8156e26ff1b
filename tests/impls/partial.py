"""Implementations that run only part of the canonical space, or fail in ways the records must tell
apart. Pick one with ``--impl partial.py:NAME``:

- ``no_dilation``: raises ``conformance.Unsupported`` for dilation > 1 (recorded ``unsupported``);
- ``never``: raises ``Unsupported`` always (a run that tests nothing);
- ``not_implemented``: raises ``NotImplementedError`` for dilation > 1 (a failure: the configuration is valid);
- ``long_error``: raises an error whose reason is on its second line, as C++-backed libraries do.
"""

import oracles
from conformance import Unsupported

DILATION = "dilation > 1 is not implemented in this kernel"


def _right(x, w, bias, **kw):
    return oracles.conv_transpose(x, w, bias, **kw).astype(x.dtype)


def no_dilation(x, w, bias, **kw):
    if max(kw["dilation"]) > 1:
        raise Unsupported(DILATION)
    return _right(x, w, bias, **kw)


def never(x, w, bias, **kw):
    raise Unsupported("nothing is implemented yet")


def not_implemented(x, w, bias, **kw):
    if max(kw["dilation"]) > 1:
        raise NotImplementedError("dilation")
    return _right(x, w, bias, **kw)


def long_error(x, w, bias, **kw):
    raise RuntimeError("Exception from src/core.cpp:117:\nthe real reason: shape mismatch")
