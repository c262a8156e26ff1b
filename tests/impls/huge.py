"""Results far larger than any case's output: the run must record them, never run out of memory.

``zeros`` is lazily allocated (its pages are never touched unless copied); ``broadcast`` is a
zero-stride view of one element. Either becomes 8 GB the moment it is pickled.
"""

import numpy as np

ELEMENTS = 10**9


def zeros(x, w, bias, **kw):
    return np.zeros(ELEMENTS)


def broadcast(x, w, bias, **kw):
    return np.broadcast_to(np.zeros(1, dtype=x.dtype), (ELEMENTS,))
