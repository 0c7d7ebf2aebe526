"""Governance actions in the ledger: policy and baseline approvals, gate controls, playbook steps.

They are requests like any other — recorded with who acted, under which policy, allowed or refused — but
they are not made by an integration, so they carry no integration id and go through no gate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from bucket_governance.ledger.chain import AppendedEntry, EntryDraft, append_entries, ledger_head

GOVERNANCE_ACTION = "GOVERNANCE_ACTION"


def governance_draft(
    action: str,
    *,
    actor_id: str | None,
    product_id: str | None,
    policy_fingerprint: str,
    details: dict[str, Any],
    artifact_id: str | None = None,
    refusal: str | None = None,
) -> EntryDraft:
    """A GOVERNANCE_ACTION entry with ``details.action = action``; DENY with ``refusal`` as its reason."""
    return EntryDraft(
        operation=GOVERNANCE_ACTION,
        decision="DENY" if refusal else "ALLOW",
        reasons=(refusal,) if refusal else (),
        actor_id=actor_id,
        integration_id=None,
        product_id=product_id,
        policy_fingerprint=policy_fingerprint,
        artifact_id=artifact_id,
        details={"action": action, **details},
    )


def append_governance_action(conn: Connection, draft: EntryDraft, at_us: int) -> AppendedEntry:
    """Append one governance entry after the head; the caller's transaction holds the ledger lock."""
    (entry,) = append_entries(conn, [draft], [at_us], head=ledger_head(conn))
    return entry
