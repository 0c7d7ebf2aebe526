from __future__ import annotations

import pytest

from bucket_governance.docsgen import render_all

pytestmark = pytest.mark.unit


def test_generated_documents_are_current() -> None:
    for path, text in render_all().items():
        assert path.exists(), f"{path.name} is missing: run `make docs`"
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run `make docs`"
