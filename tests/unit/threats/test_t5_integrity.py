from __future__ import annotations

import pytest

from tests.unit.threats.conftest import RuleBench, subjects
from tests.unit.threats.integrity_helpers import integrity_run, tamper, write_lessons

pytestmark = pytest.mark.unit


def test_direct_db_access_fires_on_an_altered_version_and_payload(bench: RuleBench) -> None:
    write_lessons(bench, 3)
    tamper(bench, "UPDATE artifact_versions SET metadata = '{\"title\":\"forged\"}' WHERE artifact_id = 'lesson-1'")
    tamper(bench, "UPDATE payloads SET data = X'00'")
    integrity_run(bench)

    found = subjects(bench.scan("T5.direct_db_access"), "T5.direct_db_access")

    assert "artifact:lesson-1@1" in found
    assert any(s.startswith("payload:") for s in found)


def test_direct_db_access_silent_on_governed_writes(bench: RuleBench) -> None:
    write_lessons(bench, 3)
    bench.store.create(bench.lesson("lesson-0", expected_version=1)).raise_if_denied()  # a new version, governed
    integrity_run(bench)

    result = bench.scan("T5.direct_db_access")

    assert subjects(result, "T5.direct_db_access") == []
    assert result.outcomes[0].status == "evaluated"
