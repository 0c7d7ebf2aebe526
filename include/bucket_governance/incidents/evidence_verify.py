"""Offline verification of an evidence bundle: only the directory (and optionally a pinned key) is read.

Checks, in order: the manifest is well formed; every file is listed and every listed file exists with its
size and SHA-256; the root hash is the Merkle root of the manifest; every ledger entry of
``ledger/entries.jsonl`` has a proof file; every proof verifies against the signed checkpoint the manifest
names. Any changed byte anywhere fails one of these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bucket_governance.incidents.evidence import FORMAT, bundle_root
from bucket_governance.ledger.proof_bundle import verify_bundle


@dataclass
class BundleCheck:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, **self.facts}


def verify_evidence(bundle: Path, verifier_keys: list[str] | None = None) -> BundleCheck:
    check = BundleCheck()
    manifest = _manifest(bundle, check)
    if manifest is None:
        return check
    _check_files(bundle, manifest, check)
    if bundle_root(manifest["files"]) != manifest.get("root_hash"):
        check.fail("the root hash does not match the manifest's files")
    keys = verifier_keys or _bundled_key(bundle, check)
    check.facts.update(key_source="pinned" if verifier_keys else "bundle", root_hash=manifest.get("root_hash"))
    _check_proofs(bundle, manifest, keys, check)
    return check


def _manifest(bundle: Path, check: BundleCheck) -> dict[str, Any] | None:
    try:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        check.fail(f"manifest.json is missing or unreadable ({type(exc).__name__})")
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        check.fail(f"manifest.json is not a {FORMAT} manifest")
        return None
    return manifest


def _check_files(bundle: Path, manifest: dict[str, Any], check: BundleCheck) -> None:
    listed = {f.get("path"): f for f in manifest["files"] if isinstance(f, dict)}
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {"manifest.json"}
    for extra in sorted(present - set(listed)):
        check.fail(f"{extra} is in the bundle but not in the manifest")
    for path, entry in sorted(listed.items()):
        target = bundle / str(path)
        if not target.is_file():
            check.fail(f"{path} is listed but missing")
            continue
        data = target.read_bytes()
        if len(data) != entry.get("size") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            check.fail(f"{path} does not match its manifest hash/size")
    check.facts["files"] = len(listed)


def _bundled_key(bundle: Path, check: BundleCheck) -> list[str]:
    try:
        return [k for k in (bundle / "verifier_key.txt").read_text(encoding="utf-8").split() if k]
    except OSError:
        check.fail("verifier_key.txt is missing and no key was given")
        return []


def _check_proofs(bundle: Path, manifest: dict[str, Any], keys: list[str], check: BundleCheck) -> None:
    entries_file = bundle / "ledger" / "entries.jsonl"
    lines = entries_file.read_text(encoding="utf-8").splitlines() if entries_file.is_file() else []
    verified = 0
    for line in lines:
        try:
            entry = json.loads(line)
            proof = json.loads((bundle / "proofs" / f"entry-{entry['seq']}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            check.fail(f"ledger entry line {line[:60]!r} has no readable proof")
            continue
        result = verify_bundle(proof, keys)
        if not result.ok:
            check.fail(f"proof of entry {entry.get('seq')}: {result.problem}")
        elif proof.get("entry") != entry or proof.get("tree_size") != manifest.get("tree_size"):
            check.fail(f"entry {entry.get('seq')} differs from its proof, or the proof is of another checkpoint")
        else:
            verified += 1
    check.facts["entries_proven"] = verified
