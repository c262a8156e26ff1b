"""Implementations that return something other than the output array; each check must judge it and
record it (shape-mismatch or mismatch), never die on it. Pick one with ``--impl bad_returns.py:NAME``."""

import numpy as np

import oracles


def _right(x, w, bias, **kw):
    return oracles.conv_transpose(x, w, bias, **kw).astype(x.dtype)


def returns_none(x, w, bias, **kw):
    return None


def wrong_shape(x, w, bias, **kw):
    """The right values, one element short along the last axis."""
    return _right(x, w, bias, **kw)[..., :-1]


def flat(x, w, bias, **kw):
    """The right values, flattened: right size, wrong shape."""
    return _right(x, w, bias, **kw).ravel()


def as_list(x, w, bias, **kw):
    """The right values as nested Python lists."""
    return _right(x, w, bias, **kw).tolist()


def string(x, w, bias, **kw):
    return "not an array"


def unpicklable(x, w, bias, **kw):
    """A generator of the right rows: it cannot even be sent back from the worker."""
    return (row for row in _right(x, w, bias, **kw))


def objects(x, w, bias, **kw):
    """The right shape, but an array of Python objects."""
    return _right(x, w, bias, **kw).astype(object)


def complex_values(x, w, bias, **kw):
    """The right values in the real part, garbage in the imaginary part."""
    return _right(x, w, bias, **kw) + 1j


def integers(x, w, bias, **kw):
    return np.zeros(_right(x, w, bias, **kw).shape, dtype=np.int64)
