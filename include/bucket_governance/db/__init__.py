"""Database: tables, engine factory, migrations and the append-only guards."""

from __future__ import annotations

from bucket_governance.db.engine import lock_ledger, make_engine
from bucket_governance.db.migrate import upgrade_to_head

__all__ = ["lock_ledger", "make_engine", "upgrade_to_head"]
