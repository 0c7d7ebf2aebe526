from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bucket_governance.errors import PolicyError
from bucket_governance.policy import ActorKind, load_policy

pytestmark = pytest.mark.unit
POLICY_DIR = Path(__file__).resolve().parents[2] / "include" / "policy"


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_demo_policy_has_the_five_products_and_spec_limits() -> None:
    policy = load_policy(POLICY_DIR)

    assert set(policy.products) == {"ai_assistant", "ai_avatar", "gurukul", "enforcement", "workflow"}
    assert policy.products["ai_avatar"].artifact_classes == ["MediaArtifact"]
    assert policy.classes["MediaArtifact"].media_by_reference
    assert policy.products["ai_assistant"].quota == 400 * 10**9
    assert policy.limits.artifact_size == 16 * 2**20
    assert policy.limits.metadata_size == 16 * 2**10
    assert policy.limits.writes_per_second.max == 1000
    assert policy.limits.batch_size.max == 500
    assert {a.kind for a in policy.policy.actors} == set(ActorKind)
    assert not policy.integrations["workflow.legacy-sync"].approved


def test_fingerprint_is_stable_and_changes_with_content(policy_copy: Path) -> None:
    original = load_policy(POLICY_DIR).fingerprint
    assert load_policy(policy_copy).fingerprint == original

    edit(policy_copy / "limits.yaml", "batch_size: {max: 500", "batch_size: {max: 400")

    assert load_policy(policy_copy).fingerprint != original


def test_fingerprint_ignores_layout_only_changes(policy_copy: Path) -> None:
    original = load_policy(POLICY_DIR).fingerprint
    edit(policy_copy / "limits.yaml", "# Scale limits", "# a comment changed\n# Scale limits")

    assert load_policy(policy_copy).fingerprint == original


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("products.yaml", "quota: 400GB", "quota: lots", ["products.yaml", "products[0].quota"]),
        (
            "limits.yaml",
            "batch_size: {max: 500, safe: 100}",
            "batch_size: {max: 50, safe: 100}",
            ["limits.yaml", "batch_size", "safe <= warning <= max"],
        ),
        (
            "actors.yaml",
            "kind: executor, product: gurukul, lane: [CREATE, READ, APPEND_AUDIT]",
            "kind: executor, product: gurukul",
            ["actors.yaml", "lane"],
        ),
        (
            "products.yaml",
            "artifact_classes: [ContentArtifact]",
            "artifact_classes: [Nope]",
            ["products.yaml", "unknown class 'Nope'"],
        ),
        (
            "integrations.yaml",
            "product: gurukul",
            "product: nowhere",
            ["integrations.yaml", "unknown product 'nowhere'"],
        ),
        (
            "products.yaml",
            "owners: [gurukul.owner]",
            "owners: [gurukul.engineer]",
            ["products.yaml", "owners", "not an actor of kind owner"],
        ),
        (
            "limits.yaml",
            "metadata_max_depth: 8",
            "metadata_max_depth: 8\n  surprise: 1",
            ["limits.yaml", "surprise", "Extra inputs"],
        ),
    ],
)
def test_broken_policy_names_file_field_and_problem(
    policy_copy: Path, file: str, old: str, new: str, expected: list[str]
) -> None:
    edit(policy_copy / file, old, new)

    with pytest.raises(PolicyError) as caught:
        load_policy(policy_copy)

    for fragment in expected:
        assert fragment in caught.value.message


def test_invalid_yaml_and_missing_directory_are_clear(policy_copy: Path, tmp_path: Path) -> None:
    (policy_copy / "limits.yaml").write_text("limits: [unclosed")
    with pytest.raises(PolicyError, match=r"limits\.yaml: not valid YAML"):
        load_policy(policy_copy)

    with pytest.raises(PolicyError, match="no policy files"):
        load_policy(tmp_path / "empty")


def test_a_section_defined_twice_is_refused(policy_copy: Path) -> None:
    (policy_copy / "zz-extra.yaml").write_text("limits: {}\n")

    with pytest.raises(PolicyError, match="section 'limits' is already defined"):
        load_policy(policy_copy)
