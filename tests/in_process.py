"""A target's variants called in this process the way its worker calls them (native parameters made by
the variant, then its call on the runtime): for the adapters' self-tests, which need the framework here."""

from __future__ import annotations


class InProcess:
    def __init__(self, target):
        self.target, self.runtime = target, target.runtime()

    def call(self, variant: str, native: dict, x, w, bias, groups: int, lane):
        return self.target.variant(variant).call(self.runtime, native, x, w, bias, groups, lane)

    def forward(self, variant: str, case, x, w, bias, lane):
        return self.call(variant, self.target.variant(variant).native(case), x, w, bias, case.groups, lane)

    def gradients(self, variant: str, case, x, w, bias, upstream, lane):
        api = self.target.variant(variant)
        return api.gradients(self.runtime, api.native(case), x, w, bias, case.groups, upstream, lane)

    def repro(self, variant: str, case, lane) -> str:
        api = self.target.variant(variant)
        return api.repro(case, api.native(case), lane)
