"""``AuditIntegrityOperator``: the audit-integrity check over the run's data interval.

The operator holds no logic: it resolves the window, the database, the policy and the signing key, calls
``bucket_governance.checks.integrity.run_integrity_check`` and maps the outcome to task state — tampering
fails the task without retries (a finding does not go away by retrying), while database errors propagate
unchanged so Airflow's retries cover outages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from bucket_governance_airflow.hooks.governance_db import DEFAULT_CONN_ID, BucketGovernanceHook
from bucket_governance_airflow.windows import requested_window_us, to_us, window_us

__all__ = ["AuditIntegrityOperator", "to_us", "window_us"]  # to_us/window_us: kept importable from here

if TYPE_CHECKING:
    from airflow.sdk import Context


class AuditIntegrityOperator(BaseOperator):
    """Verify the ledger incrementally, cross-check artifacts and payloads, sign a checkpoint; record a run.

    :param conn_id: Airflow Connection of the governance database (falls back to ``BUCKET_GOV_DB_URL``).
    :param signing_key_path: checkpoint signing key (default: the library settings' path); no key → no
        checkpoint, the verification still runs.
    :param rehash_period_runs: old entries, artifact versions and payloads are re-checked in rotating
        slices that cover everything within this many runs.
    """

    template_fields: Sequence[str] = ("conn_id", "signing_key_path")
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        signing_key_path: str | None = None,
        rehash_period_runs: int = 24,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.signing_key_path = signing_key_path
        self.rehash_period_runs = rehash_period_runs

    def execute(self, context: Context) -> dict[str, Any]:
        from pathlib import Path

        from bucket_governance.checks.integrity import IntegrityOptions, load_signer, run_integrity_check
        from bucket_governance.cli.commands_bucket import CHECKPOINT_KEY_NAME
        from bucket_governance.policy import load_policy
        from bucket_governance.settings import get_settings

        settings = get_settings()
        key_path = Path(self.signing_key_path) if self.signing_key_path else settings.resolved_signing_key_path()
        start_us, end_us = requested_window_us(context)
        hook = BucketGovernanceHook(conn_id=self.conn_id)
        try:
            result = run_integrity_check(
                hook.get_engine(),
                load_policy(settings.policy_dir),
                window_start_us=start_us,
                window_end_us=end_us,
                signer=load_signer(key_path, CHECKPOINT_KEY_NAME),
                options=IntegrityOptions(rehash_period_runs=self.rehash_period_runs),
            )
        finally:
            hook.dispose()
        summary = result.summary()
        self.log.info(
            "Audit integrity run %s over [%s, %s): %s, %s entries checked up to seq %s, checkpoint %s",
            result.run_id,
            start_us,
            end_us,
            result.status,
            result.entries_checked,
            result.last_seq,
            summary["checkpoint"],
        )
        if not result.ok:
            raise AirflowFailException(
                f"The audit ledger was tampered with: first bad entry is seq {result.first_bad_seq} "
                f"({summary['problem_count']} problem(s): {summary['problems_by_rule']}; run {result.run_id}). "
                "This is a finding, not an outage — see `bucket-gov findings list` before re-running."
            )
        self._annotate_asset_events(context, summary)
        return summary

    def _annotate_asset_events(self, context: Context, summary: dict[str, Any]) -> None:
        """Attach the summary to the Asset events this task emits, so consumers see what was verified."""
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = summary
