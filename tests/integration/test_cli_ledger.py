"""`bucket-gov checkpoint / proof / verify-proof / export-public-key / integrity` end to end (SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PUT = ("put", "--actor", "gurukul.engineer", "--integration", "gurukul.gateway", "--product", "gurukul",
       "--class", "ContentArtifact", "--payload-json", "{}")  # fmt: skip


def _cli(tmp_path: Path, *args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUCKET_GOV_VAR_DIR": str(tmp_path / "var")}
    env.pop("BUCKET_GOV_DB_URL", None)
    prefix = ["--db", db] if db else []
    command = [sys.executable, "-m", "bucket_governance.cli.main", *prefix, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=120)


def test_an_auditor_verifies_proofs_offline_with_the_exported_key(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init").returncode == 0
    for artifact in ("lesson-1", "lesson-2"):
        assert _cli(tmp_path, *PUT, "--artifact-id", artifact).returncode == 0
    integrity = json.loads(_cli(tmp_path, "--json", "integrity").stdout)
    assert _cli(tmp_path, *PUT, "--artifact-id", "lesson-3").returncode == 0
    assert _cli(tmp_path, "checkpoint").returncode == 0
    key = tmp_path / "bucket.pub"
    assert _cli(tmp_path, "export-public-key", "--out", str(key)).returncode == 0
    proofs = {
        "entry": ("2",),
        "artifact": ("--artifact", "lesson-3", "--version", "1"),
        "consistency": ("--consistency", "1", "2"),
    }
    for name, subject in proofs.items():
        assert _cli(tmp_path, "proof", *subject, "--out", str(tmp_path / f"{name}.json")).returncode == 0

    missing_db = tmp_path / "nowhere" / "bucket.db"  # offline: the database is never opened, not even created
    verdicts = {
        name: _cli(
            tmp_path,
            "verify-proof",
            str(tmp_path / f"{name}.json"),
            "--public-key",
            str(key),
            db=f"sqlite:///{missing_db}",
        ).returncode
        for name in proofs
    }
    tampered = json.loads((tmp_path / "entry.json").read_text())
    tampered["path"][0] = "00" * 32
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    rejected = _cli(tmp_path, "verify-proof", str(tmp_path / "tampered.json"), "--public-key", str(key))

    assert (integrity["ok"], integrity["checkpoint"]["signed"]) == (True, True)
    assert verdicts == {"entry": 0, "artifact": 0, "consistency": 0}
    assert not missing_db.parent.exists()
    assert rejected.returncode == 1 and "REJECTED" in rejected.stdout
    assert _cli(tmp_path, "verify-proof", str(tmp_path / "entry.json"), "--public-key", "nonsense").returncode == 2
