"""The `bucket-gov` contract of SPEC §5, through the installed console script (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bucket_governance.cli.main import main
from bucket_governance.settings import get_settings

pytestmark = pytest.mark.integration
BUCKET_GOV = Path(sys.executable).parent / "bucket-gov"


@pytest.fixture
def run(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `bucket-gov ARGS` in-process through the same `main()` the console script calls (fast)."""
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BUCKET_GOV_DB_URL", sqlite_url)
    get_settings.cache_clear()

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), int(exited.value.code or 0), out, err)

    assert _run("init").returncode == 0
    yield _run
    get_settings.cache_clear()


PUT = ["put", "--actor", "gurukul.engineer", "--integration", "gurukul.gateway", "--product", "gurukul",
       "--class", "ContentArtifact", "--artifact-id", "lesson-1"]  # fmt: skip


def test_init_creates_a_private_signing_key(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("--json", "init")

    document = json.loads(result.stdout)
    assert result.returncode == 0
    assert document["signing_key_created"] is False  # the fixture's init made it; init is idempotent
    assert (Path(document["signing_key"]).stat().st_mode & 0o777) == 0o600
    assert len(document["policy_fingerprint"]) == 64


def test_put_prints_the_contract_json_and_versions_need_expected_version(run) -> None:  # type: ignore[no-untyped-def]
    created = run("--json", *PUT, "--payload-json", '{"t": 1}', "--metadata-json", '{"title": "x"}')
    conflict = run("--json", *PUT, "--payload-json", '{"t": 2}', "--expected-version", "7")
    second = run("--json", *PUT, "--payload-json", '{"t": 2}', "--expected-version", "1")

    assert created.returncode == 0
    assert set(json.loads(created.stdout)) == {"artifact_id", "version", "seq", "entry_hash"}
    assert conflict.returncode == 1
    assert json.loads(conflict.stdout)["error"]["code"] == "version_conflict"
    assert json.loads(second.stdout)["version"] == 2


def test_ai_update_request_is_denied_with_exit_1_and_lands_in_the_ledger(run) -> None:  # type: ignore[no-untyped-def]
    run(*PUT, "--payload-json", "{}")

    result = run("--json", "request", "--actor", "gurukul.agent", "--integration", "gurukul.gateway",
                 "--operation", "UPDATE", "--product", "gurukul", "--artifact-id", "lesson-1")  # fmt: skip

    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert document["decision"] == "DENY" and document["seq"] == 3  # seq 1: init's approval of the policy
    assert "actor_lane_violation" in [r["code"] for r in document["reasons"]]
    assert json.loads(run("--json", "verify-ledger").stdout)["entries_checked"] == 3


def test_get_and_history(run) -> None:  # type: ignore[no-untyped-def]
    run(*PUT, "--payload-json", '{"t": 1}')
    run(*PUT, "--payload-json", '{"t": 2}', "--expected-version", "1")

    latest = json.loads(run("--json", "get", "lesson-1").stdout)
    first = json.loads(run("--json", "get", "lesson-1", "--version", "1").stdout)
    history = json.loads(run("--json", "history", "lesson-1").stdout)
    missing = run("get", "nope")

    assert (latest["version"], first["version"]) == (2, 1)
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert missing.returncode == 1 and "no artifact 'nope'" in missing.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--json", *PUT, "--metadata-json", "{bad"], "is not valid JSON"),
        ([*PUT, "--metadata-json", "[1, 2]"], "must be a JSON object"),
        ([*PUT, "--claimed-at", "yesterday"], "ISO 8601"),
        (["put", "--actor", "x"], "Missing option"),
        (["request", "--actor", "a", "--integration", "i", "--product", "p", "--operation", "EXPLODE"], "EXPLODE"),
        (["--db", "mysql://x/y", "verify-ledger"], "unsupported database 'mysql'"),
    ],
)
def test_bad_input_exits_2_with_a_sentence_not_a_traceback(run, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)

    assert result.returncode == 2
    assert fragment in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_uninitialised_database_is_explained(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("--db", f"sqlite:///{tmp_path / 'other.db'}", "verify-ledger")

    assert result.returncode == 2
    assert "run `bucket-gov init` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_policy_show_lists_actors_and_limits(run) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(run("--json", "policy", "show").stdout)
    text = run("policy", "show").stdout

    assert len(document["fingerprint"]) == 64
    assert {a["kind"] for a in document["actors"]} >= {"ai", "auditor", "executor", "owner"}
    assert "gurukul.agent" in text and "NOT approved" in text


def test_help_everywhere(run) -> None:  # type: ignore[no-untyped-def]
    for command in ([], ["put"], ["request"], ["demo"], ["policy", "show"], ["verify-ledger"]):
        result = run(*command, "--help")
        assert result.returncode == 0, command
        assert "Usage:" in result.stdout


def test_console_script_exit_codes_in_a_real_process(tmp_path: Path, sqlite_url: str) -> None:
    env = {**os.environ, "BUCKET_GOV_VAR_DIR": str(tmp_path / "var"), "BUCKET_GOV_DB_URL": sqlite_url}

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BUCKET_GOV), *args], env=env, capture_output=True, text=True, timeout=120)

    assert call("init").returncode == 0
    denied = call("--json", "request", "--actor", "gurukul.agent", "--integration", "gurukul.gateway",
                  "--operation", "DELETE", "--product", "gurukul")  # fmt: skip
    bad = call("put", "--actor", "x")
    assert denied.returncode == 1 and json.loads(denied.stdout)["decision"] == "DENY"
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
