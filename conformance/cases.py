"""A generated transposed-convolution case: the canonical configuration plus how to make its operands.

A case is plain, typed data (hashable, printable as a repro) from the draw to the report: the runner
hands it to targets and the oracle, a record carries its :meth:`~Operands.to_data` form, and readers of
records (known discrepancies, reports) get it back with :func:`case_from_data`. The arrays are derived
from its ``seed`` and ``values`` lane by ``conformance.operands``.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields

import numpy as np

from oracles.geometry import Geometry

from . import operands as _operands


@dataclass(frozen=True, kw_only=True)
class Operands:
    """Channel counts, sizes and the recipe for the operand arrays."""

    batch: int | None  # None: unbatched input (C_in, *spatial)
    groups: int
    in_per_group: int
    out_per_group: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    bias: bool
    values: str = "float"  # "float": signed normal floats; "integer": small integers, exact results
    seed: int = 0

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def in_channels(self) -> int:
        return self.groups * self.in_per_group

    @property
    def out_channels(self) -> int:
        return self.groups * self.out_per_group

    def input_shape(self) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return lead + (self.in_channels, *self.input_size)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_per_group, *self.kernel_size)

    def arrays(self, dtype=np.float64):
        """``(x, w, bias)`` in the oracle's layout (``conformance.operands.arrays``)."""
        return _operands.arrays(self, dtype)

    def operand_fields(self) -> dict:
        """The operand recipe alone (no configuration)."""
        return {f.name: getattr(self, f.name) for f in fields(Operands)}

    def to_data(self) -> dict:
        """JSON-ready fields (tuples as they are; ``json`` writes them as lists)."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Case(Operands):
    """One transposed convolution in canonical terms (per-dim tuples) and its operand recipe."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (crop_before, crop_after + output_padding) per dim
    output_padding: tuple[int, ...]

    @property
    def geometry(self) -> Geometry:
        return Geometry.from_arguments(
            self.input_size,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation=self.dilation,
        )

    @classmethod
    def from_geometry(cls, recipe: Operands, geometry: Geometry) -> "Case":
        """The case with ``recipe``'s operands and ``geometry``'s configuration (output padding folded into the crops)."""
        return cls(**recipe.operand_fields(), stride=geometry.stride, dilation=geometry.dilation,
                   padding=geometry.padding(), output_padding=(0,) * geometry.ndim)

    def oracle_kwargs(self) -> dict:
        """Keyword arguments of ``oracles.conv_transpose`` for this case."""
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation=self.dilation,
            groups=self.groups,
        )


@dataclass(frozen=True, kw_only=True)
class NativeCase(Operands):
    """A configuration in one dialect's own parameter space, valid or not (the dialect decides)."""

    dialect: str
    variant: str
    native: tuple[tuple[str, object], ...]  # sorted (name, value) pairs: hashable, printable

    @property
    def parameters(self) -> dict:
        return dict(self.native)

    def canonical(self) -> Case:
        """The same configuration as a canonical :class:`Case`, mapped by its dialect; the dialect's
        ``Rejected`` (the framework must raise) or ``NotExpressible`` (an empty output) otherwise."""
        from oracles.dialects import get_dialect

        geometry = get_dialect(self.dialect).to_canonical(self.input_size, self.kernel_size, groups=self.groups, **self.parameters)
        return Case.from_geometry(self, geometry)


def case_from_data(data: dict) -> Case | NativeCase:
    """A case back from its :meth:`~Operands.to_data` form after JSON (lists become the tuples cases use);
    ``ValueError`` naming what is missing or unknown."""
    kind = NativeCase if "dialect" in data else Case
    unknown = set(data) - {f.name for f in fields(kind)}
    missing = {f.name for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING} - set(data)
    if unknown or missing:
        problem = "; ".join(part for part in (unknown and f"unknown fields {sorted(unknown)}", missing and f"missing fields {sorted(missing)}") if part)
        raise ValueError(f"not a {kind.__name__}: {problem}")
    values = {name: tuples(value) if isinstance(value, list) else value for name, value in data.items()}
    return kind(**values)


def tuples(value):
    """JSON's lists back into (nested) tuples."""
    return tuple(tuples(item) for item in value) if isinstance(value, (list, tuple)) else value
