"""Every framework's transposed-convolution API, as pure arithmetic into the oracle's canonical form."""

from .base import Dialect, NotExpressible, Option, Rejected

__all__ = ["Dialect", "NotExpressible", "Option", "Rejected"]
