"""`bucket-gov init` records the first policy approval; `bucket-gov policy approve` records later ones."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import POLICY_DIR

from bucket_governance.cli.main import main
from bucket_governance.settings import get_settings

pytestmark = pytest.mark.integration
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    monkeypatch.setenv("BUCKET_GOV_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BUCKET_GOV_DB_URL", sqlite_url)
    get_settings.cache_clear()

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), int(exited.value.code or 0), out, err)

    yield _run
    get_settings.cache_clear()


def test_init_approves_the_first_policy_once(run: Run) -> None:
    first = json.loads(run("--json", "init").stdout)
    again = json.loads(run("--json", "init").stdout)

    assert first["approved_fingerprint"] == first["policy_fingerprint"] == again["approved_fingerprint"]
    assert json.loads(run("--json", "verify-ledger").stdout)["entries_checked"] == 1  # the second init added none


def test_policy_approve_by_an_owner_and_refusal_of_others(run: Run) -> None:
    run("init")

    owner = run("--json", "policy", "approve", "--actor", "gurukul.owner")
    agent = run("--json", "policy", "approve", "--actor", "gurukul.agent")

    assert owner.returncode == 0 and json.loads(owner.stdout)["recorded"] is False  # already the approved one
    assert agent.returncode == 1
    assert json.loads(agent.stdout) | {"seq": None} == {
        "fingerprint": json.loads(owner.stdout)["fingerprint"], "recorded": False, "seq": None,
        "refusal": "approver_not_owner"}  # fmt: skip
    assert json.loads(run("--json", "verify-ledger").stdout)["entries_checked"] == 2  # the refusal is audited


def test_an_edited_policy_is_recorded_as_approved_with_its_predecessor(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = json.loads(run("--json", "init").stdout)["policy_fingerprint"]
    edited = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, edited)
    products = edited / "products.yaml"
    products.write_text(products.read_text().replace("quota: 200GB", "quota: 400GB"))
    monkeypatch.setenv("BUCKET_GOV_POLICY_DIR", str(edited))
    get_settings.cache_clear()

    approved = run("--json", "policy", "approve", "--actor", "gurukul.owner")

    document = json.loads(approved.stdout)
    assert approved.returncode == 0 and document["recorded"] is True and document["seq"] == 2
    assert document["fingerprint"] != first
