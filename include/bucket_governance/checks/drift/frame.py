"""A window's artifact metadata, flattened: rows per product × class, per-field statistics, and the DataFrame.

The flatten is a plain loop over nested dicts (dotted keys, lists kept as values) rather than
``pandas.json_normalize``, which is several times slower on a million small objects. Each column of the
DataFrame gets a typed dtype when every value in the window has the same JSON type (so GX checks the column
type once), and ``object`` otherwise (so GX checks each row's type and counts the offending rows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from bucket_governance.db.tables import artifact_versions

if TYPE_CHECKING:
    import pandas as pd

JSON_TYPES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}
# A baseline type accepts these observed JSON types (a JSON number may be written without a fraction).
ACCEPTS: dict[str, frozenset[str]] = {
    "number": frozenset({"number", "integer"}),
}
# Typed pandas dtypes for homogeneous columns; arrays and objects stay Python objects.
DTYPES = {"integer": "Int64", "number": "float64", "string": "str", "boolean": "boolean"}


def json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value), "object")


def accepts(baseline_type: str, observed: str) -> bool:
    return observed == baseline_type or observed in ACCEPTS.get(baseline_type, ())


def flatten(document: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1]}`` → ``{"a.b": 1, "c": [1]}``; an empty dict stays a value."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Mapping[str, Any]]] = [("", document)]
    while stack:
        prefix, node = stack.pop()
        for key, value in node.items():
            if type(value) is dict and value:
                stack.append((f"{prefix}{key}.", value))
            else:
                out[prefix + key] = value
    return out


@dataclass
class FieldStats:
    present: int = 0  # rows where the key exists (value may be null)
    nulls: int = 0
    types: Counter[str] = field(default_factory=Counter)  # non-null JSON types


@dataclass
class MetadataWindow:
    """One product × class over a window: the flattened metadata of each version, oldest first."""

    product_id: str
    artifact_class: str
    artifact_ids: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    created_us: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, artifact_id: str, version: int, created_us: int, metadata: Mapping[str, Any]) -> None:
        self.artifact_ids.append(artifact_id)
        self.versions.append(version)
        self.created_us.append(created_us)
        self.rows.append(flatten(metadata))

    def stats(self) -> dict[str, FieldStats]:
        stats: dict[str, FieldStats] = {}
        for row in self.rows:
            for name, value in row.items():
                entry = stats.get(name)
                if entry is None:
                    entry = stats[name] = FieldStats()
                entry.present += 1
                kind = JSON_TYPES.get(type(value), "object")
                if kind == "null":
                    entry.nulls += 1
                else:
                    entry.types[kind] += 1
        return stats

    def label(self, index: int) -> str:
        return f"{self.artifact_ids[index]}@v{self.versions[index]}"


def load_windows(
    conn: Connection, product_id: str, classes: Iterable[str], start_us: int, end_us: int
) -> dict[str, MetadataWindow]:
    """The metadata of every version ``product_id`` stored in [start, end), one window per class."""
    windows = {c: MetadataWindow(product_id, c) for c in classes}
    av = artifact_versions.c
    query = (
        select(av.artifact_id, av.version, av.created_at_us, av.artifact_class, av.metadata)
        .where(av.product_id == product_id, av.created_at_us >= start_us, av.created_at_us < end_us)
        .order_by(av.created_at_us, av.artifact_id, av.version)
    )
    loads = json.loads
    for row in conn.execute(query).yield_per(5000):
        window = windows.get(row.artifact_class)
        if window is not None:  # a class the policy does not allow is T7's business, not drift's
            window.add(row.artifact_id, row.version, row.created_at_us, loads(row.metadata))
    return windows


def build_frame(
    rows: list[dict[str, Any]], expected: Mapping[str, str], stats: Mapping[str, FieldStats]
) -> pd.DataFrame:
    """One column per baseline field (``expected``: name → baseline type) and per field observed in ``rows``.

    A baseline field absent from the window becomes an all-null column, so a removed required field shows
    as null rows and only truly new fields make the column set differ.
    """
    import pandas as pd

    names = list(expected) + sorted(n for n in stats if n not in expected)
    columns = {name: _column([row.get(name) for row in rows], expected.get(name), stats.get(name)) for name in names}
    return pd.DataFrame(columns, copy=False)


def _column(values: list[Any], baseline_type: str | None, stats: FieldStats | None) -> Any:
    import pandas as pd

    observed = set(stats.types) if stats else set()
    if baseline_type is not None and observed and all(accepts(baseline_type, t) for t in observed):
        dtype = DTYPES.get(baseline_type)
    elif len(observed) == 1:
        dtype = DTYPES.get(next(iter(observed)))
    else:
        dtype = None
    return pd.Series(values, dtype=object if dtype is None else dtype)
