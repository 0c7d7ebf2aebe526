"""Failure playbooks from the command line: `incident list|show|trigger|decide|escalate-overdue`, `evidence verify`.

`incident trigger` runs the automatic part of a playbook (validate, open or attach, evidence, containment,
escalation) and leaves the incident awaiting its human decision; `incident decide` records that decision,
applies the recovery and closes the incident; `incident escalate-overdue` is the sweep the
`bucket_incident_escalations` DAG runs. The Airflow playbook DAGs call the same library steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bucket_governance.cli.context import CliContext, format_us, parse_json_object, parse_time_us
from bucket_governance.errors import EXIT_DENIED_OR_FOUND

pass_cli = click.make_pass_decorator(CliContext)


@click.group()
def incident() -> None:
    """Playbook incidents: list, show, trigger a playbook, decide."""


def _line(i: dict[str, Any]) -> str:
    due = format_us(i["escalation_due_us"]) if i["escalation_due_us"] else "-"
    return (
        f"  {i['incident_id']}  {i['playbook']:<4} {i['status']:<17} {i['subject']:<28} "
        f"→ {i['escalation_role']} by {due}  x{i['trigger_count']}  {i['outcome'] or ''}"
    )


@incident.command("list")
@click.option("--playbook", help="Only this playbook (F1…F10).")
@click.option("--status", help="open (any not closed), closed, contained, awaiting_decision, …")
@pass_cli
def incident_list(cli: CliContext, playbook: str | None, status: str | None) -> None:
    """Incidents, newest first."""
    from bucket_governance.incidents.records import list_incidents

    with cli.engine.connect() as conn:
        rows = list_incidents(conn, playbook=playbook, status=status)
    cli.emit({"incidents": rows}, "\n".join([f"{len(rows)} incident(s)", *map(_line, rows)]))


def timeline_text(doc: dict[str, Any]) -> str:
    lines = [_line(doc).strip(), f"  evidence: {doc['evidence_dir'] or '-'} (root {doc['evidence_root'] or '-'})"]
    for e in doc["timeline"]:
        seq = f" [ledger {e['ledger_seq']}]" if e["ledger_seq"] else ""
        lines.append(f"    {format_us(e['at_us'])}  {e['step']:<19} {e['actor']:<22}{seq} {_brief(e['detail'])}")
    return "\n".join(lines)


def _brief(detail: dict[str, Any]) -> str:
    if "actions" in detail:
        return ", ".join(
            f"{a.get('action')} {a.get('kind', '')} {a.get('subject', '')}".strip() for a in detail["actions"]
        )
    if detail.get("overdue"):
        return f"OVERDUE role={detail['role']} level={detail['level']} next due {format_us(detail['due_us'])}"
    if "finding_ids" in detail or "sources" in detail:
        return " ".join(detail.get("finding_ids") or detail.get("sources") or ())
    keys = ("option", "outcome", "role", "root_hash", "refusal")
    return " ".join(f"{k}={detail[k]}" for k in keys if detail.get(k) is not None)


@incident.command("show")
@click.argument("incident_id")
@pass_cli
def incident_show(cli: CliContext, incident_id: str) -> None:
    """One incident with its timeline (every step, actor, time and ledger entry)."""
    from bucket_governance.incidents.records import get_incident

    with cli.engine.connect() as conn:
        doc = get_incident(conn, incident_id)
    cli.emit(doc, timeline_text(doc))


@incident.command("trigger")
@click.argument("playbook")
@click.option("--input", "form_json", required=True, help="The trigger form as a JSON object.")
@click.option("--evidence-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: var/evidence.")
@pass_cli
def incident_trigger(cli: CliContext, playbook: str, form_json: str, evidence_dir: Path | None) -> int:
    """Start PLAYBOOK (F1…F10): validate, open or attach, preserve evidence, contain, escalate."""
    from bucket_governance.incidents import steps
    from bucket_governance.incidents.records import get_incident

    form = parse_json_object(form_json, "--input")
    signer = steps.load_evidence_signer(cli.settings.resolved_signing_key_path())
    started = steps.start(cli.engine, cli.policy, playbook, form)
    incident_id = started["incident_id"]
    if not started["attached"]:
        steps.preserve_evidence(
            cli.engine, cli.policy, incident_id, evidence_dir or cli.settings.var_dir / "evidence", signer
        )
        steps.contain(cli.engine, cli.policy, incident_id)
        steps.escalate(cli.engine, incident_id, channels=["log", "database"])
    with cli.engine.connect() as conn:
        doc = get_incident(conn, incident_id)
    head = f"attached to the open {incident_id}" if started["attached"] else f"opened {incident_id}"
    cli.emit({**doc, "attached": started["attached"]}, f"{head}\n{timeline_text(doc)}")
    return 0


@incident.command("decide")
@click.argument("incident_id")
@click.argument("option")
@click.option("--actor", required=True, help="Who decides (recorded in the timeline and the ledger).")
@click.option("--note", help="Free text kept with the decision (e.g. the alternative offered).")
@pass_cli
def incident_decide(cli: CliContext, incident_id: str, option: str, actor: str, note: str | None) -> int:
    """Record the human decision OPTION, apply the recovery it chooses, close the incident."""
    from bucket_governance.incidents import steps

    steps.record_decision(cli.engine, cli.policy, incident_id, option, by=actor, extra={"note": note} if note else {})
    steps.recover(cli.engine, cli.policy, incident_id, actor=actor)
    doc = steps.close(cli.engine, incident_id, actor=actor)
    cli.emit(doc, timeline_text(doc))
    return 0


@incident.command("escalate-overdue")
@click.option("--now", "now_text", help="Sweep as of this time, ISO 8601 (default: now).")
@pass_cli
def incident_escalate_overdue(cli: CliContext, now_text: str | None) -> int:
    """Re-escalate incidents whose decision deadline has passed (once per deadline), and set the next one."""
    from bucket_governance.incidents.escalation import escalate_overdue
    from bucket_governance.incidents.records import now_us

    at = parse_time_us(now_text, "--now")
    at = now_us() if at is None else at
    done = escalate_overdue(cli.engine, at, lambda _detail: None)
    lines = [f"{len(done)} overdue incident(s) re-escalated as of {format_us(at)}"]
    lines += [f"  {d['incident_id']}  {d['message']}; next deadline {format_us(d['due_us'])}" for d in done]
    cli.emit({"now_us": at, "escalated": done}, "\n".join(lines))
    return 0


@click.group()
def evidence() -> None:
    """Evidence bundles of incidents."""


@evidence.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", "public_keys", multiple=True, help="Pin the verifier key (default: the bundle's copy).")
@pass_cli
def evidence_verify(cli: CliContext, bundle: Path, public_keys: tuple[str, ...]) -> int:
    """Verify an evidence bundle OFFLINE: manifest hashes, root hash, and every inclusion proof."""
    from bucket_governance.incidents.evidence_verify import verify_evidence

    check = verify_evidence(bundle, list(public_keys) or None)
    facts = json.dumps({k: v for k, v in check.facts.items()}, sort_keys=True)
    human = f"VERIFIED: {facts}" if check.ok else "REJECTED:\n" + "\n".join(f"  {p}" for p in check.problems)
    cli.emit(check.as_dict(), human)
    return 0 if check.ok else EXIT_DENIED_OR_FOUND


COMMANDS = (incident, evidence)
