"""The demo generator on both dialects (the ``engine`` fixture runs SQLite and PostgreSQL).

Shares its basename with ``tests/unit/test_demo.py``; pytest tells them apart because ``tests/unit`` is a
package (it has an ``__init__.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bucket_governance.db import make_engine, upgrade_to_head
from bucket_governance.db.tables import ledger_entries
from bucket_governance.demo import generate_demo, load_manifest
from bucket_governance.demo.invariants import check_clean_history
from bucket_governance.policy import LoadedPolicy

pytestmark = pytest.mark.integration

END_US = 1_790_000_000_000_000
SMALL_RUN: dict[str, Any] = {"seed": 5, "days": 3, "scale": 0.1, "end_us": END_US}
EXPECTED_REASONS = {
    "ai_update_request": {"actor_lane_violation", "in_place_update_refused"},
    "unapproved_integration_write": {"integration_not_approved"},
    "version_conflict_burst": {"version_conflict"},
    "cross_product_read": {"cross_product_access"},
}
L = ledger_entries.c


def entry_hashes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(L.entry_hash).order_by(L.seq)).scalars())


def test_small_history_is_clean(engine: Engine, policy: LoadedPolicy) -> None:
    result = generate_demo(engine, policy, **SMALL_RUN)

    problems = check_clean_history(engine, policy)

    assert {name: found for name, found in problems.items() if found} == {}
    assert result.versions > 100 and result.ledger_entries > result.versions


def test_injections_are_denied_and_recorded(engine: Engine, policy: LoadedPolicy, tmp_path: Path) -> None:
    generate_demo(engine, policy, **SMALL_RUN, inject=sorted(EXPECTED_REASONS), manifest_path=tmp_path / "m.json")

    manifest = load_manifest(tmp_path / "m.json")

    assert sorted(i.injection for i in manifest.incidents) == sorted(EXPECTED_REASONS)
    with engine.connect() as conn:
        for incident in manifest.incidents:
            entries = conn.execute(select(L.decision, L.reasons).where(L.seq.in_(incident.ledger_seqs))).all()
            expected = EXPECTED_REASONS[incident.injection]
            assert len(entries) == len(incident.ledger_seqs) >= 1
            assert all(d == "DENY" and expected <= set(json.loads(r)) for d, r in entries), incident.injection


@pytest.mark.postgres
def test_sqlite_and_postgresql_write_the_same_ledger(sqlite_url: str, pg_url: str, policy: LoadedPolicy) -> None:
    engines = [make_engine(sqlite_url), make_engine(pg_url)]
    for engine in engines:
        upgrade_to_head(engine)
        generate_demo(engine, policy, **SMALL_RUN, inject=sorted(EXPECTED_REASONS))

    hashes = [entry_hashes(engine) for engine in engines]
    for engine in engines:
        engine.dispose()

    assert hashes[0] == hashes[1] and len(hashes[0]) > 100
