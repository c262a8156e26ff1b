"""What a user's implementation (``--impl``) declares it runs: the part of the canonical space the suite
draws from for it, and the devices, dtypes and gradients it is tested on.

An implementation sets it as an attribute of its function::

    from conformance import Capabilities

    def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups): ...

    conv_transpose.capabilities = Capabilities(ndims=(2,), dilation=False, negative_padding=False)

(a plain dict with the same keys works too). Whatever is declared out is never drawn, so the run
tests the declared contract and the report states it; a configuration inside it that the function
still cannot run is for :class:`~conformance.Unsupported`. Without ``capabilities`` every
configuration is drawn, on the CPU, in float32 and float64, forward only.

The fields are checked when the implementation loads: an unknown key or a value of the wrong kind
is a usage error naming it, never a silently wider or narrower run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

# ``output_padding`` values: what the end extension ``op`` of a case may be (``padding`` pairs crop
# first; ``op`` then extends the end by that many rows).
OUTPUT_PADDING = {
    "none": "always 0",
    "below-stride": "0 <= op < stride (PyTorch's modules, Keras, ONNX Runtime)",
    "below-stride-or-dilation": "0 <= op < max(stride, dilation) (PyTorch's functional form)",
    "any": "0 <= op <= max(stride, dilation) + 1",
}
DTYPES = ("float16", "bfloat16", "float32", "float64")
DEVICES = ("cpu", "gpu")
# How gradients are checked: not at all, by the function's own ``backward`` attribute, or by the
# array library's autodiff through the function (``--impl-arrays torch`` or ``jax``).
GRADIENTS = (None, "backward", "autodiff")


@dataclass(frozen=True)
class Capabilities:
    """The configurations an implementation runs. Every field defaults to the whole canonical space."""

    ndims: tuple[int, ...] = (1, 2, 3)  # spatial ranks
    groups: bool = True  # groups > 1
    groups_3d: bool = True  # groups > 1 with 3 spatial dims (some libraries group 1-D and 2-D only)
    dilation: bool = True  # dilation > 1
    negative_padding: bool = True  # padding < 0: zeros appended beyond the full output
    asymmetric_padding: bool = True  # padding (before, after) with before != after
    output_padding: str = "any"  # see OUTPUT_PADDING
    unbatched: bool = True  # x without a batch dim, (C_in, *spatial)
    bias: bool = True  # a bias argument other than None
    dtypes: tuple[str, ...] = ("float32", "float64")
    devices: tuple[str, ...] = ("cpu",)  # "cpu", "gpu": every GPU the array library sees
    gradients: str | None = None  # see GRADIENTS
    tf32: bool = False  # on GPUs, float32 is computed with TF32 (judged against that bound, not full float32's)

    def __post_init__(self):
        for name in ("ndims", "dtypes", "devices"):
            value = getattr(self, name)
            if isinstance(value, (str, int)):
                value = (value,)
            try:
                object.__setattr__(self, name, tuple(value))
            except TypeError:
                raise ValueError(f"capabilities.{name} must be a sequence; got {value!r}") from None
        problems = []
        for field in ("groups", "groups_3d", "dilation", "negative_padding", "asymmetric_padding", "unbatched", "bias", "tf32"):
            if not isinstance(getattr(self, field), bool):
                problems.append(f"capabilities.{field} must be True or False; got {getattr(self, field)!r}")
        if not self.ndims or any(n not in (1, 2, 3) or isinstance(n, bool) for n in self.ndims):
            problems.append(f"capabilities.ndims must name spatial ranks from 1, 2, 3; got {self.ndims!r}")
        if not isinstance(self.output_padding, str) or self.output_padding not in OUTPUT_PADDING:  # a list is unhashable: no `in` on the dict
            problems.append(f"capabilities.output_padding must be one of {', '.join(OUTPUT_PADDING)}; got {self.output_padding!r}")
        if not self.dtypes or any(d not in DTYPES for d in self.dtypes):
            problems.append(f"capabilities.dtypes must name dtypes from {', '.join(DTYPES)}; got {self.dtypes!r}")
        if not self.devices or any(d not in DEVICES for d in self.devices):
            problems.append(f"capabilities.devices must name devices from {', '.join(DEVICES)}; got {self.devices!r}")
        if self.gradients not in GRADIENTS:
            problems.append(f"capabilities.gradients must be one of None, 'backward', 'autodiff'; got {self.gradients!r}")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def of(cls, declared) -> "Capabilities":
        """The capabilities a function declares: a :class:`Capabilities`, a dict of its fields, or None (everything)."""
        if declared is None:
            return cls()
        if isinstance(declared, cls):
            return declared
        if isinstance(declared, dict):
            unknown = sorted(set(declared) - {f.name for f in fields(cls)})
            if unknown:
                raise ValueError(f"capabilities has no field {', '.join(map(repr, unknown))}; its fields are {', '.join(f.name for f in fields(cls))}")
            return cls(**declared)
        raise ValueError(f"capabilities must be conformance.Capabilities or a dict; got {type(declared).__name__}")

    def to_data(self) -> dict:
        """JSON-ready fields, for the run's environment and the report."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict) -> "Capabilities":
        return cls.of(dict(data))

    def space(self) -> dict:
        """The lane space (``conformance.strategies.lane_cases``) that draws only declared configurations."""
        space = {"ndims": self.ndims}
        if not self.dilation:
            space["dilation"] = "none"
        if not self.groups:
            space["groups"] = "none"
        if not self.groups_3d:
            space["groups_3d"] = False
        if not self.negative_padding:
            space["crop_before_min"] = 0
            space["padding_after_min"] = 0
        if not self.asymmetric_padding:
            space["symmetric"] = True
        if self.output_padding != "any":
            space["output_padding"] = self.output_padding
        if not self.unbatched:
            space["batched"] = True
        if not self.bias:
            space["bias"] = False
        return space

    def declared(self) -> list[str]:
        """What the declaration leaves out, one phrase each (empty: the whole canonical space), for the report."""
        out = []
        default = Capabilities()
        if self.ndims != default.ndims:
            out.append(f"{'/'.join(map(str, self.ndims))}-D only")
        for field, phrase in (("groups", "no groups"), ("groups_3d", "no 3-D groups"), ("dilation", "no dilation"),
                              ("negative_padding", "no negative padding"), ("asymmetric_padding", "symmetric padding only"),
                              ("unbatched", "batched inputs only"), ("bias", "no bias")):
            if not getattr(self, field) and (field != "groups_3d" or self.groups):
                out.append(phrase)
        if self.output_padding != "any":
            out.append(f"output_padding {OUTPUT_PADDING[self.output_padding]}")
        return out

    def describe(self) -> str:
        """The whole contract in words, for the report: what it leaves out, its dtypes, devices and gradients."""
        parts = self.declared() or ["the whole canonical space"]
        parts += [f"dtypes {', '.join(self.dtypes)}", f"devices {', '.join(self.devices)}",
                  f"gradients by {self.gradients}" if self.gradients else "no gradients"]
        return "; ".join(parts + (["TF32 on GPUs"] if self.tf32 else []))
