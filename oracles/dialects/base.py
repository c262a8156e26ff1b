"""The shape every dialect module shares: one framework API's parameters in canonical terms.

A dialect maps *native* parameters (as the framework spells them) to a canonical
:class:`~oracles.geometry.Geometry` (per-dim stride, dilation and crops), converts weights and tensors
between the native and the canonical layout, knows which native parameters the framework rejects,
and maps a canonical geometry back to native parameters where the API can express it.

Canonical layouts: tensors ``(N, C, *spatial)``; weights ``(C_in, C_out/groups, *k)``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from ..geometry import Geometry, is_int


class Rejected(ValueError):
    """The framework raises for these native parameters; the message states the framework's rule."""


class NotExpressible(ValueError):
    """The dialect's API cannot express this canonical configuration; the message says why."""


class EmptyOutput(NotExpressible):
    """The API returns an output of length 0 (or raises, depending on the build) where the canonical
    form needs ``o >= 1``: outside the model, so a check accepts either an empty result or an error."""


@dataclass(frozen=True)
class Option:
    """One native parameter of a dialect, as the ``convt`` command and the strategies see it.

    ``kind`` is ``"per_dim"`` (an int or one int per dim), ``"padding"`` (an int, per-dim ints,
    ``(before, after)`` pairs, or one of ``choices``), ``"choice"`` (one of ``choices``), ``"flag"``
    (a bool), ``"sizes"`` (one output length per dim, or None) or ``"int"`` (one int for the whole call).
    """

    name: str
    kind: str
    default: object
    help: str
    choices: tuple = ()


class Dialect(abc.ABC):
    """One framework API family. Subclasses set ``name``, ``options`` and ``supports_groups``."""

    name: str
    options: tuple[Option, ...]
    supports_groups: bool = True
    channels_last_default: bool = False

    @abc.abstractmethod
    def to_canonical(self, input_size, kernel_size, *, groups: int = 1, **native) -> Geometry:
        """Canonical geometry for these native parameters; ``Rejected`` where the framework raises.

        ``groups`` is the channel-group count of the operands. The geometry itself does not depend on
        it, but some APIs need it to map their parameters (jax: only ``conv_general_dilated`` has
        ``feature_group_count``; ONNX: the ``group`` attribute must match). A dialect whose
        ``supports_groups`` is False raises ``NotExpressible`` for ``groups > 1``
        (:meth:`require_groups`).
        """

    @abc.abstractmethod
    def from_canonical(self, geometry: Geometry) -> dict:
        """Native parameters that give ``geometry``; ``NotExpressible`` (with the reason) where none do."""

    def require_groups(self, groups: int) -> None:
        """``NotExpressible`` where this API has no channel groups and ``groups > 1``; ``ValueError``
        for a ``groups`` that is not a positive int (the caller's mistake, not the framework's rule)."""
        if not is_int(groups) or groups < 1:
            raise ValueError(f"groups must be a positive integer; got groups={groups!r}")
        if groups > 1 and not self.supports_groups:
            raise NotExpressible(f"{self.name} has no grouped transposed convolution (groups={groups})")

    def same_conventions(self, input_size: int, kernel_size: int, stride: int, dilation: int = 1) -> dict:
        """1-D canonical geometry of each of this API's 'SAME'-like modes, by label; a ``str`` value is
        the reason the API rejects that mode there. Empty for an API without such a mode."""
        return {}

    def output_size(self, input_size, kernel_size, **native) -> tuple[int, ...]:
        """The spatial output size the framework produces for these native parameters."""
        return self.to_canonical(input_size, kernel_size, **native).output_size

    def defaults(self) -> dict:
        return {option.name: option.default for option in self.options}

    def native(self, **given) -> dict:
        """``given`` completed with defaults; ``ValueError`` for a name this dialect does not have."""
        known = self.defaults()
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f"dialect {self.name} has no parameter {', '.join(unknown)}; it has {', '.join(known)}")
        return {**known, **given}

    # Layout conversions. The defaults are the canonical layouts themselves.
    def weight_to_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """Native weight array -> ``(C_in, C_out/groups, *k)``."""
        return np.asarray(weight)

    def weight_from_canonical(self, weight: np.ndarray, **native) -> np.ndarray:
        """``(C_in, C_out/groups, *k)`` -> native weight array."""
        return np.asarray(weight)

    def input_to_canonical(self, x: np.ndarray, **native) -> np.ndarray:
        """Native input tensor -> ``(N, C, *spatial)``."""
        return channels_last_to_first(x) if self.channels_last(**native) else np.asarray(x)

    def output_from_canonical(self, y: np.ndarray, **native) -> np.ndarray:
        """``(N, C, *spatial)`` -> the native output tensor."""
        return channels_first_to_last(y) if self.channels_last(**native) else np.asarray(y)

    def input_from_canonical(self, x: np.ndarray, **native) -> np.ndarray:
        """``(N, C, *spatial)`` -> the native input tensor."""
        return self.output_from_canonical(x, **native)

    def channels_last(self, **native) -> bool:
        return self.channels_last_default


def dim_reasons(reason, *columns) -> list[str]:
    """``"spatial dim N: why"`` for each dim where ``reason(*that dim's entries of columns)`` gives a why."""
    return [f"spatial dim {dim}: {why}" for dim, values in enumerate(zip(*columns)) if (why := reason(*values))]


def refuse(summary: str, reasons: list[str], *, hint: str = "") -> None:
    """``NotExpressible("summary: why; why" + hint)`` where there is any reason; nothing otherwise."""
    if reasons:
        raise NotExpressible(f"{summary}: " + "; ".join(reasons) + hint)


def channels_last_to_first(array) -> np.ndarray:
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)``."""
    return np.moveaxis(np.asarray(array), -1, 1)


def channels_first_to_last(array) -> np.ndarray:
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)``."""
    return np.moveaxis(np.asarray(array), 1, -1)
