"""The window a governance task checks: the run's data interval, or a window chosen in the trigger form.

Scheduled runs check their data interval, so re-runs and backfills of a window are idempotent. A manual run
may pass ``since`` / ``until`` (ISO 8601) as params to check another window — e.g. a whole demo history.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param

if TYPE_CHECKING:
    from airflow.sdk import Context


def to_us(moment: datetime) -> int:
    """Integer microseconds since the epoch (UTC), exact — no float rounding; naive means UTC.

    Integer arithmetic on the UTC fields rather than ``moment - epoch``: Airflow hands out pendulum
    datetimes, whose differences are pendulum intervals that do not divide by a timedelta.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return calendar.timegm(utc.timetuple()) * 1_000_000 + utc.microsecond


def window_us(context: Context) -> tuple[int, int]:
    """The run's data interval in microseconds, so re-runs and backfills of a window are idempotent.

    A manual run created without a logical date has no data interval; its moment (logical date, else
    ``run_after``) becomes a zero-length window, which still identifies the run.
    """
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None:
        return to_us(start), to_us(end)
    moment = to_us(context.get("logical_date") or context["dag_run"].run_after)
    return moment, moment


def window_params() -> dict[str, Param]:
    """Trigger-form fields for a custom window; both empty means "the data interval"."""
    described = "ISO 8601, e.g. 2026-11-01T00:00:00Z; leave empty to check the run's data interval"
    return {
        "since": Param(None, type=["null", "string"], format="date-time", description=f"Window start. {described}"),
        "until": Param(None, type=["null", "string"], format="date-time", description=f"Window end. {described}"),
    }


def requested_window_us(context: Context) -> tuple[int, int]:
    params: dict[str, Any] = dict(context.get("params") or {})
    since, until = params.get("since"), params.get("until")
    if not since and not until:
        return window_us(context)
    start_default, end_default = window_us(context)
    start = _parse(since) if since else start_default
    end = _parse(until) if until else end_default
    if start >= end:
        raise ValueError(f"params: since ({since}) must be earlier than until ({until})")
    return start, end


def _parse(text: str) -> int:
    return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))
