"""Schema drift: `drift` (run the check once), `drift baseline` (propose / approve), `drift baselines` (list)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bucket_governance.cli.context import CliContext, format_us, resolve_window
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, InvalidInputError

if TYPE_CHECKING:
    from bucket_governance.checks.drift.baselines import Baseline
    from bucket_governance.checks.drift.pipeline import ProductResult

pass_cli = click.make_pass_decorator(CliContext)
DEFAULT_WINDOW_US = 3_600 * 1_000_000  # the drift DAG's schedule: one hour


@click.group(invoke_without_command=True)
@click.option("--since", help="Window start, ISO 8601 (default: one hour before --until).")
@click.option("--until", help="Window end, ISO 8601 (default: now).")
@click.option("--product", "products", multiple=True, help="Only this product; repeatable (default: all).")
@click.pass_context
def drift(ctx: click.Context, since: str | None, until: str | None, products: tuple[str, ...]) -> int | None:
    """Validate the window's artifact metadata against the approved baselines — the DAG's library call."""
    if ctx.invoked_subcommand is not None:
        return None
    from bucket_governance.checks.drift.pipeline import run_drift_check

    cli = ctx.find_object(CliContext)
    assert cli is not None
    start, end = resolve_window(since, until, DEFAULT_WINDOW_US)
    results = run_drift_check(
        cli.engine,
        cli.policy,
        window_start_us=start,
        window_end_us=end,
        products=products or None,
        docs_dir=cli.settings.var_dir / "gx",
    )
    document = {"window_start_us": start, "window_end_us": end, "products": [r.summary() for r in results]}
    cli.emit(document, _drift_text(results, start, end))
    return EXIT_DENIED_OR_FOUND if any(r.drifted for r in results) else 0


def _drift_text(results: list[ProductResult], start: int, end: int) -> str:
    lines = [f"schema drift {format_us(start)} → {format_us(end)}"]
    for r in results:
        for c in r.classes:
            lines.append(f"  {r.product_id:<13} {c.artifact_class:<22} {c.status:<12} {c.rows_validated} version(s)")
            lines += [
                f"    {ch.classification:<9} {ch.change:<18} {ch.field:<24} → {ch.rule_id}  x{ch.count}"
                f"  {format_us(ch.first_seen_us)} … {format_us(ch.last_seen_us)}"
                for ch in c.changes
            ]
        if r.data_docs:
            lines.append(f"    Data Docs: {r.data_docs}")
    return "\n".join(lines)


def _allowed_values(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    allowed: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        if not sep or not name or not values:
            raise InvalidInputError("allowed_values_invalid", f"--allow {pair!r} must look like FIELD=value1,value2")
        allowed[name] = [v for v in values.split(",") if v]
    return allowed


@drift.command("baseline")
@click.option("--product", "product_id", required=True, help="The product whose baseline this is.")
@click.option("--class", "artifact_class", required=True, help="The artifact class (e.g. MediaArtifact).")
@click.option("--since", help="Profiled window start, ISO 8601 (default: one hour before --until).")
@click.option("--until", help="Profiled window end, ISO 8601 (default: now).")
@click.option(
    "--allow", "allow", multiple=True, help="Declare allowed values: FIELD=v1,v2 (string fields); repeatable."
)
@click.option("--approve", is_flag=True, help="Approve the newest proposal (or --version) instead of proposing.")
@click.option("--version", type=click.IntRange(1), help="With --approve: the proposed version to approve.")
@click.option("--actor", help="Who proposes or approves (required with --approve; an owner of the product).")
@pass_cli
def drift_baseline(
    cli: CliContext, product_id: str, artifact_class: str, since: str | None, until: str | None,
    allow: tuple[str, ...], approve: bool, version: int | None, actor: str | None,
) -> int:  # fmt: skip
    """Propose a baseline by profiling a window, or approve a proposal (a ledger entry)."""
    from bucket_governance.checks.drift.baselines import approve_baseline, propose_baseline

    if approve:
        if not actor:
            raise InvalidInputError("actor_required", "--approve needs --actor: the owner who approves is recorded")
        baseline = approve_baseline(
            cli.engine,
            cli.policy,
            product_id=product_id,
            artifact_class=artifact_class,
            actor_id=actor,
            version=version,
        )
        text = f"{baseline.baseline_id} is now current (approved by {actor}, ledger seq {baseline.approval_seq})"
        cli.emit(baseline.as_dict(), text)
        return 0
    start, end = resolve_window(since, until, DEFAULT_WINDOW_US)
    baseline = propose_baseline(
        cli.engine, cli.policy, product_id=product_id, artifact_class=artifact_class,
        window_start_us=start, window_end_us=end, proposed_by=actor or "cli", allowed_values=_allowed_values(allow),
    )  # fmt: skip
    cli.emit(baseline.as_dict(), _baseline_text(baseline) + "\n  approve with --approve --actor <owner>")
    return 0


@drift.command("baselines")
@click.option("--product", "product_id", help="Only this product.")
@click.option("--class", "artifact_class", help="Only this class.")
@pass_cli
def drift_baselines(cli: CliContext, product_id: str | None, artifact_class: str | None) -> None:
    """Every baseline version with its status and approval."""
    from bucket_governance.checks.drift.baselines import list_baselines

    with cli.engine.connect() as conn:
        rows = list_baselines(conn, product_id, artifact_class)
    cli.emit({"baselines": [b.as_dict() for b in rows]}, "\n".join([f"{len(rows)} baseline(s)", *map(_line, rows)]))


def _line(b: Baseline) -> str:
    approved = f"approved by {b.approved_by} (seq {b.approval_seq})" if b.approved_by else "not approved"
    return f"  {b.baseline_id:<40} {b.status:<11} {len(b.fields)} field(s), {approved}"


def _baseline_text(b: Baseline) -> str:
    lines = [f"{b.baseline_id} proposed from {b.rows_profiled} version(s): {_line(b).strip()}"]
    for f in b.fields:
        allowed: Any = f" allowed={list(f.allowed_values)}" if f.allowed_values is not None else ""
        lines.append(f"    {f.name:<32} {f.type:<8} {'required' if f.required else 'optional'}{allowed}")
    return "\n".join(lines)


COMMANDS = (drift,)
