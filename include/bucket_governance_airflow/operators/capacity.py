"""``CapacityProjectionOperator``: refresh the usage history for the run's day and project every limit.

No logic here: the window is the run's data interval, the library call is
``bucket_governance.checks.capacity.pipeline.run_capacity``, the return value its small summary. A limit
in WARNING or CRITICAL is a result, not a failure — the task succeeds and the summary (and the run row,
status ``findings``) says which; database errors propagate so Airflow's retries cover outages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.windows import window_us

if TYPE_CHECKING:
    from airflow.sdk import Context


class CapacityProjectionOperator(BaseOperator):
    """Project storage, artifact counts and rates against the policy's limits; write the pictures.

    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    :param pictures_dir: where the PNGs go; default ``<BUCKET_GOV_VAR_DIR>/capacity``; "" for none.
    """

    template_fields: Sequence[str] = ("conn_id", "pictures_dir")
    ui_color = "#eef7e8"

    def __init__(self, *, conn_id: str = DEFAULT_CONN_ID, pictures_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.pictures_dir = pictures_dir

    def execute(self, context: Context) -> dict[str, Any]:
        from bucket_governance.checks.capacity.pipeline import run_capacity
        from bucket_governance.policy import load_policy
        from bucket_governance.settings import get_settings

        start_us, end_us = window_us(context)
        settings = get_settings()
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            result = run_capacity(
                hook.get_engine(),
                load_policy(settings.policy_dir),
                window_start_us=start_us,
                window_end_us=end_us,
                pictures_dir=self._pictures(settings.var_dir),
            )
        finally:
            hook.dispose()
        summary = result.summary()
        self.log.info("Capacity run %s over [%s, %s): %s", result.run_id, start_us, end_us, result.status)
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = summary
        return summary

    def _pictures(self, var_dir: Path) -> Path | None:
        if self.pictures_dir == "":
            return None
        return Path(self.pictures_dir) if self.pictures_dir else var_dir / "capacity"
