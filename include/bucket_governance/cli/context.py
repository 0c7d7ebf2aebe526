"""What every command shares: the database URL, the output mode, and lazily built engine/policy/store."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bucket_governance.errors import InvalidInputError
from bucket_governance.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bucket_governance.bucket.store import BucketStore
    from bucket_governance.policy import LoadedPolicy


@dataclass
class CliContext:
    db_url: str
    as_json: bool
    settings: Settings = field(default_factory=get_settings)

    @cached_property
    def engine(self) -> Engine:
        from bucket_governance.db import make_engine

        return make_engine(self.db_url)

    @cached_property
    def policy(self) -> LoadedPolicy:
        from bucket_governance.policy import load_policy

        return load_policy(self.settings.policy_dir)

    @cached_property
    def store(self) -> BucketStore:
        from bucket_governance.bucket.store import BucketStore

        return BucketStore(self.engine, self.policy)

    def emit(self, document: dict[str, Any], human: str) -> None:
        """One JSON document on stdout with --json, else the human text."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        else:
            sys.stdout.write(human.rstrip("\n") + "\n")


def parse_json_object(text: str | None, option: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            "json_invalid", f"{option} is not valid JSON ({exc.msg} at character {exc.pos})"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError("json_object_required", f'{option} must be a JSON object like \'{{"key": "value"}}\'')
    return value


def parse_time_us(text: str | None, option: str) -> int | None:
    """ISO 8601 (e.g. 2026-11-28T10:00:00Z) → integer microseconds since the epoch; naive means UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            "time_invalid", f"{option} must be an ISO 8601 time like 2026-11-28T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def format_us(value: int | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def resolve_window(since: str | None, until: str | None, default_span_us: int) -> tuple[int, int]:
    """--since/--until as ISO times; by default the ``default_span_us`` up to now (the matching DAG's interval)."""
    import time

    end = parse_time_us(until, "--until") or time.time_ns() // 1000
    start = parse_time_us(since, "--since") or end - default_span_us
    if start >= end:
        raise InvalidInputError("window_invalid", "--since must be earlier than --until")
    return start, end
