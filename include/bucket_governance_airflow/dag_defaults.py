"""What every governance DAG shares: its owner and retry policy (a DAG states only how long to wait).

Kept free of heavy imports: DAG files import it at parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

OWNER = "governance"
RETRIES = 2  # transient database or scheduler hiccups; a third failure is a real problem worth a red run


def governance_default_args(retry_delay: timedelta) -> dict[str, Any]:
    """``default_args`` of a governance DAG: owner ``governance``, two retries after ``retry_delay``."""
    return {"owner": OWNER, "retries": RETRIES, "retry_delay": retry_delay}
