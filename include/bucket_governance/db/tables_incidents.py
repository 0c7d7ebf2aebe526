"""Tables of the failure playbooks (results, mutable): incidents and their timelines.

One ``incidents`` row per playbook run that opened an incident; a second trigger for the same playbook and
subject while it is open attaches to it (``open_key`` is ``playbook:subject`` while open and NULL once
closed — a UNIQUE column, so "one open incident per playbook + subject" holds in the database on both
dialects, NULLs being distinct). ``incident_events`` is the timeline: every step with its actor and time,
and the ledger sequence number when the step was a governance action.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from bucket_governance.db.tables import metadata

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(32), primary_key=True),
    Column("playbook", String(8), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("open_key", String(300), unique=True),  # playbook:subject while open, NULL when closed
    Column("status", String(16), nullable=False),  # open | contained | awaiting_decision | recovering | closed
    Column("opened_by", String(128), nullable=False),
    Column("opened_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Column("closed_at_us", BigInteger),
    Column("escalation_role", String(64), nullable=False),
    Column("escalation_due_us", BigInteger),  # NULL: the playbook sets no deadline
    Column("escalated_at_us", BigInteger),
    Column("trigger_count", Integer, nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: the validated form of the first trigger
    Column("decision", Text),  # JSON: option, by, at, extra
    Column("outcome", String(64)),
    Column("evidence_dir", Text),
    Column("evidence_root", String(64)),
)
Index("ix_incidents_status", incidents.c.status, incidents.c.opened_at_us)

incident_events = Table(
    "incident_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("incidents.incident_id"), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("step", String(32), nullable=False),
    Column("detail", Text, nullable=False),  # JSON object
    Column("ledger_seq", BigInteger),
)
Index("ix_incident_events_incident", incident_events.c.incident_id, incident_events.c.event_id)
