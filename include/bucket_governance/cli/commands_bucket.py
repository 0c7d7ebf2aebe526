"""Bucket commands: init, policy show, put, request, get, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bucket_governance.bucket.requests import AccessRequest, ArtifactVersion, CreateRequest
from bucket_governance.cli.context import CliContext, format_us, parse_json_object, parse_time_us
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, InvalidInputError, NotFoundError
from bucket_governance.policy import Operation

pass_cli = click.make_pass_decorator(CliContext)
CHECKPOINT_KEY_NAME = "bucket-governance"


@click.command()
@pass_cli
def init(cli: CliContext) -> None:
    """Create or migrate the database, load and fingerprint the policy, create the signing key if absent."""
    from bucket_governance.bucket.policy_approval import approve_initial_policy
    from bucket_governance.db import upgrade_to_head
    from bucket_governance.ledger.checkpoint import generate_signing_key

    policy = cli.policy  # validate first: a broken policy must not leave a half-initialised deployment
    upgrade_to_head(cli.engine)
    key_path = cli.settings.resolved_signing_key_path()
    created = not key_path.exists()
    if created:
        generate_signing_key(key_path, CHECKPOINT_KEY_NAME)
    approval = approve_initial_policy(cli.engine, policy)  # the first policy is the approved baseline
    document = {
        "database": cli.engine.url.render_as_string(hide_password=True),
        "policy_fingerprint": policy.fingerprint,
        "approved_fingerprint": approval.fingerprint,
        "policy_files": [str(p) for p in policy.sources],
        "signing_key": str(key_path),
        "signing_key_created": created,
    }
    human = (
        f"database ready: {document['database']}\n"
        f"policy fingerprint: {policy.fingerprint}\n"
        f"signing key: {key_path} ({'created' if created else 'already present'})"
    )
    cli.emit(document, human)


@click.group()
def policy() -> None:
    """Inspect the policy in force."""


@policy.command("show")
@pass_cli
def policy_show(cli: CliContext) -> None:
    """Products, artifact classes, integrations, actors and limits in force, with the fingerprint."""
    loaded = cli.policy
    document = {"fingerprint": loaded.fingerprint, **loaded.policy.model_dump(mode="json")}
    cli.emit(document, _policy_text(loaded))


@policy.command("approve")
@click.option("--actor", required=True, help="Owner actor approving the policy in force (its fingerprint).")
@pass_cli
def policy_approve(cli: CliContext, actor: str) -> int:
    """Record the approval of the policy in force; requests decided under another policy are T5.emergency_hotfix."""
    from bucket_governance.bucket.policy_approval import approve_policy

    outcome = approve_policy(cli.engine, cli.policy, actor)
    if outcome.refusal:
        human = f"approval refused ({outcome.refusal}): only an actor of kind owner approves a policy"
    elif outcome.recorded:
        human = f"policy {outcome.fingerprint} approved (ledger seq {outcome.seq})"
    else:
        human = f"policy {outcome.fingerprint} is already the last approved one (ledger seq {outcome.seq})"
    cli.emit(outcome.as_dict(), human)
    return EXIT_DENIED_OR_FOUND if outcome.refusal else 0


def _policy_text(loaded: Any) -> str:
    p = loaded.policy
    lines = [f"policy {p.name!r}  fingerprint {loaded.fingerprint}", "", "products:"]
    for product in p.products:
        lines.append(
            f"  {product.id:<14} classes={','.join(product.artifact_classes):<22} quota={product.quota.human_readable(decimal=True)}"
            f"  owners={','.join(product.owners)}"
        )
    lines += ["", "integrations:"]
    for i in p.integrations:
        state = "revoked" if i.revoked else ("approved" if i.approved else "NOT approved")
        lines.append(f"  {i.id:<24} product={i.product:<14} {state}")
    lines += ["", "actors:"]
    for a in p.actors:
        where = a.product or f"scope={','.join(a.scope)}"
        lane = f"  lane={','.join(op.value for op in a.lane)}" if a.lane else ""
        lines.append(f"  {a.id:<24} {a.kind.value:<9} {where}{lane}")
    limits = p.limits
    lines += [
        "",
        "limits:",
        f"  storage {limits.storage.total.human_readable(decimal=True)} (warning {limits.storage.warning_ratio:.0%},"
        f" critical {limits.storage.critical_ratio:.0%}); artifact {limits.artifact_size.human_readable(decimal=True)};"
        f" metadata {limits.metadata_size.human_readable(decimal=True)}; batch {int(limits.batch_size.max)};"
        f" result set {int(limits.result_set.max)}",
        "  full list: docs/scale-readiness.md, or --json",
    ]
    return "\n".join(lines)


@click.command()
@click.option("--actor", required=True, help="Actor id making the request.")
@click.option("--integration", required=True, help="Integration id the request arrives through.")
@click.option("--product", required=True, help="Product the artifact belongs to.")
@click.option("--class", "artifact_class", required=True, help="Artifact class, e.g. ContentArtifact.")
@click.option("--owner", help="Owner actor id (default: the product's first owner).")
@click.option("--artifact-id", help="Existing artifact to version, or a new id to create.")
@click.option("--expected-version", type=int, help="The version you expect to be current (required for new versions).")
@click.option("--payload-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--payload-json", help="The payload as a JSON text.")
@click.option("--reference-url", help="External reference (media classes store a URL, never bytes).")
@click.option("--metadata-json", help="Metadata JSON object.")
@click.option("--provenance-json", help='Provenance JSON object: {"source", "intent", "parents"}.')
@click.option("--claimed-at", help="Client-claimed time (ISO 8601); kept as a claim, never as the record time.")
@pass_cli
def put(cli: CliContext, /, **options: Any) -> int:
    """A governed CREATE of an artifact version."""
    request = CreateRequest(
        actor_id=options["actor"],
        integration_id=options["integration"],
        product_id=options["product"],
        artifact_class=options["artifact_class"],
        owner_id=options["owner"],
        artifact_id=options["artifact_id"],
        expected_version=options["expected_version"],
        payload=_payload(options),
        reference_url=options["reference_url"],
        metadata=parse_json_object(options["metadata_json"], "--metadata-json"),
        provenance=parse_json_object(options["provenance_json"], "--provenance-json"),
        claimed_at_us=parse_time_us(options["claimed_at"], "--claimed-at"),
    )
    outcome = cli.store.create(request)
    if outcome.allowed:
        cli.emit(outcome.as_dict(), f"stored {outcome.artifact_id} v{outcome.version} (ledger seq {outcome.seq})")
        return 0
    cli.emit(
        outcome.as_dict(), f"denied ({outcome.decision.code}): {outcome.decision.message} — ledger seq {outcome.seq}"
    )
    return EXIT_DENIED_OR_FOUND


def _payload(options: dict[str, Any]) -> bytes | None:
    given = [o for o in ("payload_file", "payload_json") if options[o] is not None]
    if len(given) > 1:
        raise InvalidInputError("payload_ambiguous", "give one of --payload-file or --payload-json, not both")
    if options["payload_file"] is not None:
        return Path(options["payload_file"]).read_bytes()
    if options["payload_json"] is not None:
        import json

        try:
            json.loads(options["payload_json"])
        except json.JSONDecodeError as exc:
            raise InvalidInputError("json_invalid", f"--payload-json is not valid JSON ({exc.msg})") from None
        return str(options["payload_json"]).encode()
    return None


@click.command()
@click.option("--actor", required=True)
@click.option("--integration", required=True)
@click.option(
    "--operation",
    required=True,
    type=click.Choice([op.value for op in Operation if op not in (Operation.CREATE, Operation.GOVERNANCE_ACTION)]),
)
@click.option("--product", required=True)
@click.option("--artifact-id")
@click.option("--version", type=int)
@pass_cli
def request(cli: CliContext, /, **options: Any) -> int:
    """Any non-CREATE request, decided by the gate and recorded in the ledger like an API call."""
    outcome = cli.store.submit(
        AccessRequest(
            operation=Operation(options["operation"]),
            actor_id=options["actor"],
            integration_id=options["integration"],
            product_id=options["product"],
            artifact_id=options["artifact_id"],
            version=options["version"],
        )
    )
    document = {
        "decision": "ALLOW" if outcome.allowed else "DENY",
        "reasons": [{"code": r.code, "message": r.message} for r in outcome.decision.reasons],
        "seq": outcome.seq,
        "entry_hash": outcome.entry_hash,
    }
    verdict = "allowed" if outcome.allowed else f"denied ({outcome.decision.code}): {outcome.decision.message}"
    cli.emit(document, f"{options['operation']} {verdict} — ledger seq {outcome.seq}")
    return 0 if outcome.allowed else EXIT_DENIED_OR_FOUND


@click.command()
@click.argument("artifact_id")
@click.option("--version", type=int, help="Version to show (default: the latest).")
@pass_cli
def get(cli: CliContext, artifact_id: str, version: int | None) -> None:
    """Show one artifact version (operator view straight from the database; not a governed READ)."""
    from bucket_governance.bucket.queries import artifact_version

    with cli.engine.connect() as conn:
        found = artifact_version(conn, artifact_id, version)
    if found is None:
        which = f"version {version} of " if version else ""
        raise NotFoundError("artifact_not_found", f"no {which}artifact {artifact_id!r} in {cli.engine.url.database}")
    cli.emit(_version_dict(found), _version_text(found))


@click.command()
@click.argument("artifact_id")
@pass_cli
def history(cli: CliContext, artifact_id: str) -> None:
    """List every version of one artifact with its ledger entry."""
    from bucket_governance.bucket.queries import artifact_history

    with cli.engine.connect() as conn:
        versions = artifact_history(conn, artifact_id, limit=int(cli.policy.limits.result_set.max))
    if not versions:
        raise NotFoundError("artifact_not_found", f"no artifact {artifact_id!r}")
    lines = [f"{artifact_id}: {len(versions)} version(s)"]
    lines += [
        f"  v{v.version:<4} {format_us(v.created_at_us)}  by {v.created_by:<22} {v.size_bytes:>9} B"
        f"  sha256 {v.content_hash[:16]}…  seq {v.ledger_seq}"
        for v in versions
    ]
    cli.emit({"artifact_id": artifact_id, "versions": [_version_dict(v) for v in versions]}, "\n".join(lines))


def _version_dict(v: ArtifactVersion) -> dict[str, Any]:
    document = dict(v.__dict__)
    document["created_at"] = format_us(v.created_at_us)
    document["claimed_at"] = format_us(v.claimed_at_us) if v.claimed_at_us else None
    return document


def _version_text(v: ArtifactVersion) -> str:
    return "\n".join(
        [
            f"{v.artifact_id} v{v.version}  ({v.product_id}/{v.artifact_class})",
            f"  owner {v.owner_id}, created by {v.created_by} via {v.integration_id} at {format_us(v.created_at_us)}",
            f"  {v.size_bytes} bytes, sha256 {v.content_hash}"
            + (f", reference {v.reference_url}" if v.reference_url else ""),
            f"  metadata {v.metadata}",
            f"  provenance {v.provenance}",
            f"  ledger seq {v.ledger_seq}",
        ]
    )


COMMANDS = (init, policy, put, request, get, history)
