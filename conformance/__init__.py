"""The conformance suite: hypothesis-generated transposed convolutions run through each framework and checked against the oracle.

For ``--impl`` authors: ``from conformance import Unsupported, Capabilities``. Raise :class:`Unsupported`
(with the reason) for a configuration your implementation does not run; it is recorded as
``unsupported``, not as a failure. Set ``capabilities`` on your function to say which configurations
it runs at all, so the suite draws only those (``conformance.capabilities``).
"""

from .capabilities import Capabilities
from .targets.base import Unsupported

__all__ = ["Capabilities", "Unsupported"]
