from __future__ import annotations

from pathlib import Path

import pytest

from bucket_governance.checks.threats.registry import THREATS, all_rules, rule, select_rules
from bucket_governance.errors import InvalidInputError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def test_every_rule_names_an_existing_test_and_a_known_playbook() -> None:
    for r in all_rules():
        assert (ROOT / r.proven_by).is_file(), f"{r.rule_id}: {r.proven_by} does not exist"
        assert r.playbook in {f"F{n}" for n in range(1, 11)}
        assert r.severity == THREATS[r.threat_id].severity


def test_selection_by_threat_and_unknown_names() -> None:
    assert {r.threat_id for r in select_rules(threats=["T6"])} == {"T6"}
    with pytest.raises(InvalidInputError, match="T99"):
        select_rules(threats=["T99"])
    with pytest.raises(ValueError, match=r"T<n>\.<pattern>"):
        rule("X1.bad", "bad id", proven_by="-")
