"""The ground truth of a demo run: which incidents were injected, where, and which rule should find each.

Written as JSON next to the demo database (the CLI uses ``var/demo/manifest.json``) so the threat scan can be
scored against it: every incident should produce a finding of its ``rule_id`` about its ``subject`` inside
its time window, and nothing should fire on the clean rest of the history.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bucket_governance.errors import InvalidInputError, NotFoundError

MANIFEST_SCHEMA_VERSION: Literal[1] = 1


class Incident(BaseModel):
    """One injected incident and the evidence a detector should point at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    injection: str
    rule_id: str = Field(pattern=r"^T\d+\.[a-z_]+$")
    # rules the same traffic rightly trips as well (see Injection.also_fires); their hits stay inside ledger_seqs
    also_fires: list[str] = Field(default_factory=list)
    threat_id: str = Field(pattern=r"^T\d+$")
    description: str
    product_id: str
    subject: str
    subject_kind: Literal["actor", "integration", "artifact", "product", "policy"]
    window_start_us: int
    window_end_us: int
    decision: Literal["ALLOW", "DENY", "NONE"]  # NONE: written around the gate, no ledger decision
    reason_codes: list[str] = Field(default_factory=list)
    ledger_seqs: list[int] = Field(default_factory=list)  # the entries of the incident itself
    setup_seqs: list[int] = Field(default_factory=list)  # entries it needed first (e.g. a target artifact)
    artifact_ids: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    seed: int
    days: int
    scale: float
    start_us: int
    end_us: int
    ledger_entries: int
    last_entry_hash: str
    incidents: list[Incident] = Field(default_factory=list)  # in the order they happened


def write_manifest(manifest: Manifest, path: Path) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(temporary, path)


def load_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            "manifest_not_found", f"{path}: no demo manifest here; run `bucket-gov demo` first"
        ) from None
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(
            "manifest_invalid", f"{path}: not a demo manifest ({problems}); regenerate it with `bucket-gov demo`"
        ) from None
