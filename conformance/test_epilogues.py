"""The transposed convolution followed by what compilers fuse into it -- a separate bias add, ReLU,
sigmoid, a residual add -- computed by the framework in one call, against the oracle followed by the
same epilogue in float64, within the bound carried through the epilogue (``oracles.epilogue_bound``).

Eager lanes here; the compiled lanes run the same check in ``test_compiled.py``, where the epilogue
may be fused into the convolution's kernel.
"""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from .assertions import assert_verdict
from .parametrize import epilogue_check, kernel_check
from .profiles import examples
from .strategies import lane_cases


def check_epilogue(runner, target, data) -> None:
    """One drawn case and one of the variant's epilogues (the bias epilogue needs a bias to add)."""
    __tracebackhide__ = True
    name = data.draw(st.sampled_from(target.api.epilogues), label="epilogue")
    case = data.draw(lane_cases(target.space), label="case")
    if name == "bias" and not case.bias:
        case = dataclasses.replace(case, bias=True)
    assert_verdict(runner.epilogue(target, case, name))


@epilogue_check
@kernel_check
@settings(max_examples=examples(30))
@given(data=st.data())
def test_epilogues(runner, target, data):
    check_epilogue(runner, target, data)
