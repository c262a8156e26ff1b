"""The project's documents point at tests that exist: a renamed or moved test must take its citations along."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"`((?:tests|conformance)/[\w/]+\.py)::(\w+)")


@pytest.mark.parametrize("document", ["docs/semantics.md", "README.md"])
def test_every_cited_test_exists(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = [
        f"{path}::{name}" for path, name in sorted(set(CITATION.findall(text)))
        if not (ROOT / path).is_file() or not re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M)
    ]
    assert not missing, f"{document} cites tests that do not exist: {missing}"


def test_the_semantics_document_cites_tests():
    assert len(set(CITATION.findall((ROOT / "docs/semantics.md").read_text(encoding="utf-8")))) >= 50
