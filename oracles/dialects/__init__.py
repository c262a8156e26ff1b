"""Every framework's transposed-convolution API, as pure arithmetic into the oracle's canonical form.

``DIALECTS`` maps a name to its :class:`Dialect`; each module also documents its formulas.
"""

from . import jax, keras, onnx, tensorflow, torch
from .base import Dialect, EmptyOutput, NotExpressible, Option, Rejected

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect for dialect in (torch.DIALECT, tensorflow.DIALECT, keras.DIALECT, jax.DIALECT, onnx.DIALECT)
}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; choose one of {', '.join(DIALECTS)}") from None


__all__ = ["DIALECTS", "Dialect", "EmptyOutput", "NotExpressible", "Option", "Rejected", "get_dialect"]
