"""Every registered dialect takes ``groups=`` the same way (``Dialect.to_canonical``'s signature).

The runner and the report snippets pass a native case's ``groups`` to whichever dialect it names, so a
dialect that forgot the keyword would break them only for the cases that reach it.
"""

from __future__ import annotations

import inspect

import pytest

from oracles.dialects import DIALECTS, NotExpressible

# The fewest native parameters each dialect needs for one valid 1-D call with i=3, k=2. A dialect added
# to DIALECTS without a row here fails below (KeyError), so it cannot slip past these checks.
NATIVE = {
    "torch": dict(stride=2),
    "tensorflow": dict(output_shape=(6,), strides=2, padding="SAME"),
    "keras": dict(strides=2),
    "jax": dict(api="conv_general_dilated", strides=2, padding=((1, 1),)),  # lax.conv_transpose has no groups
    "onnx": dict(strides=2),
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_groups_is_a_keyword_with_default_1(name):
    parameter = inspect.signature(DIALECTS[name].to_canonical).parameters.get("groups")
    assert parameter is not None and parameter.kind is parameter.KEYWORD_ONLY and parameter.default == 1


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_groups_1_is_the_default(name):
    dialect, native = DIALECTS[name], NATIVE[name]
    assert dialect.to_canonical(3, 2, groups=1, **native) == dialect.to_canonical(3, 2, **native)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_groups_2_follows_supports_groups(name):
    """Grouping changes no crop where the API has groups; where it has none, groups=2 is not expressible."""
    dialect, native = DIALECTS[name], NATIVE[name]
    if dialect.supports_groups:
        assert dialect.to_canonical(3, 2, groups=2, **native) == dialect.to_canonical(3, 2, **native)
    else:
        with pytest.raises(NotExpressible, match=f"{name} has no grouped transposed convolution"):
            dialect.to_canonical(3, 2, groups=2, **native)


def test_some_registered_dialect_has_no_groups():
    """Keeps the refusing branch above exercised: Keras's Conv*DTranspose has no groups argument."""
    assert not DIALECTS["keras"].supports_groups


@pytest.mark.parametrize("name", sorted(DIALECTS))
@pytest.mark.parametrize("groups", [0, -1, 1.5, True])
def test_groups_must_be_a_positive_int(name, groups):
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        DIALECTS[name].to_canonical(3, 2, groups=groups, **NATIVE[name])
