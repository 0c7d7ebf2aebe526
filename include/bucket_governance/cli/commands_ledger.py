"""Tamper-evidence commands: `checkpoint`, `proof`, `verify-proof` (offline), `integrity`, `export-public-key`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bucket_governance.cli.commands_bucket import CHECKPOINT_KEY_NAME
from bucket_governance.cli.context import CliContext, format_us, resolve_window
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, InvalidInputError

if TYPE_CHECKING:
    from bucket_governance.checks.integrity import IntegrityResult

pass_cli = click.make_pass_decorator(CliContext)
HOUR_US = 3_600 * 1_000_000  # the audit-integrity DAG's schedule


def _signing_key_path(cli: CliContext) -> Path:
    path = cli.settings.resolved_signing_key_path()
    if not path.exists():
        raise InvalidInputError(
            "signing_key_missing", f"there is no checkpoint signing key at {path}: run `bucket-gov init` first"
        )
    return path


@click.command()
@pass_cli
def checkpoint(cli: CliContext) -> None:
    """Sign a checkpoint of the ledger as it is now (only the entries since the last one are hashed)."""
    from bucket_governance.ledger.checkpoint import load_signing_key
    from bucket_governance.ledger.checkpoint_store import create_checkpoint

    key = load_signing_key(_signing_key_path(cli))
    stored = create_checkpoint(cli.engine, key, CHECKPOINT_KEY_NAME)
    human = (
        f"checkpoint {stored.checkpoint_id}: {stored.tree_size} entries, root {stored.root_hash}\n"
        f"consistent with the previous tree of {stored.previous_size} entries\n\n{stored.signed_note}"
    )
    cli.emit(stored.as_dict(), human)


@click.command()
@click.argument("seq", type=int, required=False)
@click.option("--artifact", "artifact_id", help="Prove an artifact version (its CREATE entry) instead of a seq.")
@click.option("--version", type=int, help="The artifact version (with --artifact).")
@click.option("--checkpoint", "checkpoint_id", type=int, help="Prove against this checkpoint (default: newest).")
@click.option("--consistency", nargs=2, type=int, metavar="OLD NEW", help="Consistency proof between checkpoints.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Proof file.")
@pass_cli
def proof(cli: CliContext, /, **options: Any) -> None:
    """Write a self-contained proof file: inclusion of SEQ or of an artifact version, or consistency."""
    from bucket_governance.ledger import proof_build

    with cli.engine.connect() as conn:
        document = _build_proof(conn, proof_build, options)
    out: Path = options["out"]
    out.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    subject = _proof_subject(document)
    cli.emit({"out": str(out), "type": document["type"], **subject}, f"{document['type']} proof written to {out}")


def _build_proof(conn: Any, proof_build: Any, options: dict[str, Any]) -> dict[str, Any]:
    seq, artifact_id, version = options["seq"], options["artifact_id"], options["version"]
    chosen = sum(x is not None for x in (seq, artifact_id, options["consistency"]))
    if chosen != 1 or (artifact_id is None) != (version is None):
        raise InvalidInputError(
            "proof_subject", "name exactly one of: SEQ, --artifact ID --version N, or --consistency OLD NEW"
        )
    if options["consistency"] is not None:
        old, new = options["consistency"]
        return proof_build.consistency_between(conn, old, new)  # type: ignore[no-any-return]
    if artifact_id is not None:
        return proof_build.inclusion_for_artifact(  # type: ignore[no-any-return]
            conn, artifact_id, version, checkpoint_id=options["checkpoint_id"]
        )
    return proof_build.inclusion_for_seq(conn, seq, checkpoint_id=options["checkpoint_id"])  # type: ignore[no-any-return]


def _proof_subject(document: dict[str, Any]) -> dict[str, Any]:
    if document["type"] == "inclusion":
        return {"entry_seq": document["entry_seq"], "tree_size": document["tree_size"]}
    return {}


@click.command("verify-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    required=True,
    help="Verifier key (name+id+key) or a file holding one per line; repeat for rotated keys.",
)
@pass_cli
def verify_proof(cli: CliContext, proof_file: Path, public_keys: tuple[str, ...]) -> int:
    """Verify a proof file OFFLINE: only the file and the public key(s) are read, never the database."""
    from bucket_governance.ledger.proof_bundle import verify_bundle

    try:
        document = json.loads(proof_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInputError("proof_unreadable", f"{proof_file} is not a JSON proof file") from None
    check = verify_bundle(document, _verifier_keys(public_keys))
    human = f"VERIFIED: {check.kind} proof holds" if check.ok else f"REJECTED: {check.problem}"
    cli.emit(check.as_dict(), human)
    return 0 if check.ok else EXIT_DENIED_OR_FOUND


def _verifier_keys(values: tuple[str, ...]) -> list[str]:
    from bucket_governance.ledger.checkpoint import parse_verifier_key

    keys: list[str] = []
    for value in values:
        path = Path(value)
        lines = path.read_text(encoding="utf-8").split() if path.is_file() else [value]
        keys += [line.strip() for line in lines if line.strip()]
    for key in keys:
        parse_verifier_key(key)  # a malformed key is bad input (exit 2), not a rejected proof
    return keys


@click.command()
@click.option("--since", help="Window start, ISO 8601 (default: one hour before --until).")
@click.option("--until", help="Window end, ISO 8601 (default: now).")
@click.option("--full", is_flag=True, help="Re-check everything, not just what is new plus a rotating slice.")
@click.option("--no-checkpoint", is_flag=True, help="Verify only; sign no checkpoint.")
@pass_cli
def integrity(cli: CliContext, since: str | None, until: str | None, full: bool, no_checkpoint: bool) -> int:
    """Run the audit-integrity check once over a window — the same library call the hourly DAG makes."""
    from bucket_governance.checks.integrity import IntegrityOptions, load_signer, run_integrity_check

    start, end = resolve_window(since, until, HOUR_US)
    signer = load_signer(cli.settings.resolved_signing_key_path(), CHECKPOINT_KEY_NAME)
    result = run_integrity_check(
        cli.engine,
        cli.policy,
        window_start_us=start,
        window_end_us=end,
        signer=signer,
        options=IntegrityOptions(full=full, checkpoint=not no_checkpoint),
    )
    cli.emit(
        {**result.summary(), "problems": [p.as_dict() for p in result.problems]}, _integrity_text(result, start, end)
    )
    return 0 if result.ok else EXIT_DENIED_OR_FOUND


def _integrity_text(result: IntegrityResult, start: int, end: int) -> str:
    lines = [
        f"audit integrity {format_us(start)} → {format_us(end)}: {result.status}",
        f"  entries checked: {result.entries_checked} (up to seq {result.last_seq}); rechecked: {result.rechecked}",
    ]
    for p in result.problems:
        lines.append(f"  {p.rule_id:<27} {p.kind:<27} {p.subject}  {json.dumps(p.evidence, sort_keys=True)}")
    cp = result.checkpoint
    if cp.get("signed"):
        lines.append(f"  checkpoint {cp['checkpoint_id']} signed: {cp['tree_size']} entries, root {cp['root_hash']}")
    else:
        lines.append(f"  no checkpoint signed: {cp.get('reason')}")
    return "\n".join(lines)


@click.command("export-public-key")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the key to this file.")
@pass_cli
def export_public_key(cli: CliContext, out: Path | None) -> None:
    """Print the verifier key auditors need for `verify-proof` (never the private key)."""
    from bucket_governance.ledger.checkpoint import export_public_key as export
    from bucket_governance.ledger.checkpoint import load_signing_key

    path = _signing_key_path(cli)
    verifier_key = export(load_signing_key(path), CHECKPOINT_KEY_NAME)
    if out is not None:
        out.write_text(verifier_key + "\n", encoding="utf-8")
    cli.emit(
        {"verifier_key": verifier_key, "key_name": CHECKPOINT_KEY_NAME, "out": str(out) if out else None}, verifier_key
    )


COMMANDS = (checkpoint, proof, verify_proof, integrity, export_public_key)
