"""Threat scan and findings: `scan`, `findings list|show|ack|resolve|suppress`."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from bucket_governance.cli.context import CliContext, format_us, parse_time_us, resolve_window
from bucket_governance.errors import EXIT_DENIED_OR_FOUND

pass_cli = click.make_pass_decorator(CliContext)
DEFAULT_WINDOW_US = 15 * 60 * 1_000_000  # the threat-scan DAG's schedule


@click.command()
@click.option("--since", help="Window start, ISO 8601 (default: 15 minutes before --until).")
@click.option("--until", help="Window end, ISO 8601 (default: now).")
@click.option("--threat", "threats", multiple=True, help="Only this threat (T1…T10); repeatable.")
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule (e.g. T6.automated_request); repeatable.")
@pass_cli
def scan(
    cli: CliContext, since: str | None, until: str | None, threats: tuple[str, ...], rule_ids: tuple[str, ...]
) -> int:
    """Run the detection rules over a window once — the same library call the threat-scan DAG makes."""
    from bucket_governance.checks.threats.scan import scan_window
    from bucket_governance.results.findings import get_finding

    start, end = resolve_window(since, until, DEFAULT_WINDOW_US)
    result = scan_window(
        cli.engine, cli.policy, window_start_us=start, window_end_us=end, threats=threats, rule_ids=rule_ids
    )
    with cli.engine.connect() as conn:
        found = [get_finding(conn, fid) for fid in result.finding_ids]
    cli.emit({**result.summary(), "findings_detail": found}, _scan_text(result.summary(), found, start, end))
    return EXIT_DENIED_OR_FOUND if found else 0


def _scan_text(summary: dict[str, Any], found: list[dict[str, Any]], start: int, end: int) -> str:
    lines = [f"threat scan {format_us(start)} → {format_us(end)}: {summary['rules_evaluated']} rules evaluated"]
    for rule_id, reason in summary["rules_not_evaluated"].items():
        lines.append(f"  not evaluated: {rule_id} ({reason})")
    if not found:
        return "\n".join([*lines, "  no findings"])
    by_threat = Counter((f["threat_id"], f["severity"]) for f in found)
    lines.append("  findings per threat and severity:")
    for (threat, severity), n in sorted(by_threat.items(), key=lambda kv: int(kv[0][0][1:])):
        lines.append(f"    {threat:<4} {severity:<9} {n}")
    lines += [_finding_line(f) for f in found]
    return "\n".join(lines)


def _finding_line(f: dict[str, Any]) -> str:
    return (
        f"  {f['finding_id']}  {f['rule_id']:<28} {f['severity']:<9} {f['product_id'] or '-':<13}"
        f" {f['subject']:<28} x{f['count']:<4} {f['status']:<12} → {f['playbook']}"
    )


@click.group()
def findings() -> None:
    """List, inspect and move findings through their lifecycle."""


@findings.command("list")
@click.option(
    "--status", "statuses", multiple=True, type=click.Choice(["open", "acknowledged", "resolved", "suppressed"])
)
@click.option("--rule", "rule_id")
@click.option("--threat", "threat_id")
@click.option("--product", "product_id")
@click.option("--limit", type=click.IntRange(1, 5000), default=200, show_default=True)
@pass_cli
def findings_list(cli: CliContext, statuses: tuple[str, ...], rule_id: str | None, threat_id: str | None,
                  product_id: str | None, limit: int) -> None:  # fmt: skip
    """Findings, newest first."""
    from bucket_governance.results.findings import list_findings

    with cli.engine.connect() as conn:
        rows = list_findings(
            conn, statuses=statuses, rule_id=rule_id, threat_id=threat_id, product_id=product_id, limit=limit
        )
    cli.emit({"findings": rows}, "\n".join([f"{len(rows)} finding(s)", *map(_finding_line, rows)]))


@findings.command("show")
@click.argument("finding_id")
@pass_cli
def findings_show(cli: CliContext, finding_id: str) -> None:
    """One finding with its evidence."""
    import json

    from bucket_governance.results.findings import get_finding

    with cli.engine.connect() as conn:
        f = get_finding(conn, finding_id)
    text = _finding_line(f) + f"\n  first seen {f['first_seen']}, last seen {f['last_seen']}\n  evidence "
    cli.emit(f, text + json.dumps(f["evidence"], indent=2, sort_keys=True).replace("\n", "\n  "))


def _transition_command(name: str, status: str, needs_reason: bool, needs_expiry: bool) -> click.Command:
    @click.argument("finding_id")
    @click.option("--actor", required=True, help="Who makes the change (recorded on the finding).")
    @click.option("--reason", required=needs_reason, help="Why (required to resolve or suppress).")
    @pass_cli
    def command(cli: CliContext, finding_id: str, actor: str, reason: str | None, until: str | None = None) -> None:
        from bucket_governance.results.findings import transition

        until_us = parse_time_us(until, "--until") if needs_expiry else None
        f = transition(cli.engine, finding_id, status, actor=actor, reason=reason, until_us=until_us)
        cli.emit(f, f"{finding_id} is now {status}")

    if needs_expiry:
        command = click.option("--until", required=True, help="Suppression expiry, ISO 8601.")(command)
    return click.command(name, help=f"Mark a finding {status}.")(command)


findings.add_command(_transition_command("ack", "acknowledged", needs_reason=False, needs_expiry=False))
findings.add_command(_transition_command("resolve", "resolved", needs_reason=True, needs_expiry=False))
findings.add_command(_transition_command("suppress", "suppressed", needs_reason=True, needs_expiry=True))

COMMANDS = (scan, findings)


@findings.command("summary")
@pass_cli
def findings_summary(cli: CliContext) -> None:
    """Open findings per threat and severity — the table an operator reads first."""
    from bucket_governance.checks.threats.registry import THREATS
    from bucket_governance.results.findings import list_findings

    with cli.engine.connect() as conn:
        rows = list_findings(conn, statuses=("open", "acknowledged"), limit=5000)
    counts = Counter((f["threat_id"], f["severity"]) for f in rows)
    lines = [f"{'threat':<36} {'severity':<9} findings", "-" * 55]
    for threat in THREATS.values():
        n = counts.get((threat.threat_id, threat.severity), 0)
        lines.append(f"{threat.threat_id + ' ' + threat.name:<36} {threat.severity:<9} {n:>8}")
    lines.append(f"{'total':<46} {len(rows):>8}")
    document = {"per_threat": {f"{t}:{s}": n for (t, s), n in counts.items()}, "total": len(rows)}
    cli.emit(document, "\n".join(lines))


@findings.command("score")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False), help="Default: the demo's manifest.")
@pass_cli
def findings_score(cli: CliContext, manifest_path: str | None) -> int:
    """Compare findings with the demo's ground-truth manifest: recall, precision, what was missed or extra."""
    from pathlib import Path

    from bucket_governance.demo.manifest import load_manifest
    from bucket_governance.demo.scoring import score
    from bucket_governance.results.findings import list_findings

    manifest = load_manifest(Path(manifest_path) if manifest_path else cli.settings.var_dir / "demo" / "manifest.json")
    with cli.engine.connect() as conn:
        result = score(manifest, list_findings(conn, limit=5000))
    lines = [f"recall {result.recall:.0%} ({len(result.found)}/{len(result.found) + len(result.missed)} incidents)",
             f"precision {result.precision:.0%} ({len(result.unexpected)} unexpected finding(s))"]  # fmt: skip
    lines += [f"  missed      {rule:<28} {subject}" for rule, subject in result.missed]
    lines += [f"  unexpected  {rule:<28} {subject}" for rule, subject in result.unexpected]
    cli.emit(result.as_dict(), "\n".join(lines))
    return 0 if not (result.missed or result.unexpected) else EXIT_DENIED_OR_FOUND
