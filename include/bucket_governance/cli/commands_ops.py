"""Operations commands: verify-ledger, demo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from bucket_governance.cli.context import CliContext, format_us
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, InvalidInputError

pass_cli = click.make_pass_decorator(CliContext)


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (never on stdout, so --json stays one clean document)."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@click.command("verify-ledger")
@pass_cli
def verify_ledger(cli: CliContext) -> int:
    """Recompute the whole hash chain; exit 1 naming the first bad sequence number."""
    from bucket_governance.ledger.verify import verify_chain

    with cli.engine.connect() as conn, progress_bar(not cli.as_json, "verifying ledger") as progress:
        report = verify_chain(conn, progress=lambda n: progress(n, 0))
    if report.ok:
        cli.emit(report.as_dict(), f"ledger intact: {report.entries_checked} entries, head seq {report.last_seq}")
        return 0
    lines = [f"ledger BROKEN at seq {report.first_bad_seq}: {len(report.problems)} problem(s)"]
    lines += [f"  seq {p.seq}: {p.kind}: {p.message}" for p in report.problems[:20]]
    cli.emit(report.as_dict(), "\n".join(lines))
    return EXIT_DENIED_OR_FOUND


@click.command()
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=28, show_default=True)
@click.option("--scale", type=click.FloatRange(0.01, 100), default=1.0, show_default=True, help="1.0 ≈ 20k versions")
@click.option("--inject", default="none", show_default=True, help="all, none, or a comma-separated list of injections")
@click.option("--reset", is_flag=True, help="Delete the SQLite database first (refused for other databases).")
@pass_cli
def demo(cli: CliContext, seed: int, days: int, scale: float, inject: str, reset: bool) -> None:
    """Write a synthetic multi-product history (and injected incidents) plus a ground-truth manifest."""
    from bucket_governance.db import upgrade_to_head
    from bucket_governance.demo import generate_demo

    if reset:
        _reset_sqlite(cli)
    upgrade_to_head(cli.engine)
    _require_empty(cli)
    manifest_path = cli.settings.var_dir / "demo" / "manifest.json"
    with progress_bar(not cli.as_json, "writing demo history") as progress:
        result = generate_demo(
            cli.engine,
            cli.policy,
            seed=seed,
            days=days,
            scale=scale,
            inject=_parse_inject(inject),
            manifest_path=manifest_path,
            progress=progress,
        )
    document = {**result.as_dict(), "manifest": str(manifest_path)}
    cli.emit(document, _demo_text(result, str(manifest_path)))


def _parse_inject(text: str) -> str | list[str]:
    if text in ("all", "none"):
        return text
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InvalidInputError("inject_invalid", "--inject takes all, none, or a comma-separated list of names")
    return names


def _reset_sqlite(cli: CliContext) -> None:
    from pathlib import Path

    url = cli.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise InvalidInputError(
            "reset_refused", "--reset only deletes an embedded SQLite file; empty other databases yourself"
        )
    cli.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(url.database + suffix).unlink(missing_ok=True)


def _require_empty(cli: CliContext) -> None:
    from bucket_governance.ledger.chain import ledger_head

    with cli.engine.connect() as conn:
        seq, _ = ledger_head(conn)
    if seq:
        raise InvalidInputError(
            "demo_needs_empty_database",
            f"the database already holds {seq} ledger entries; the demo writes into an empty one: "
            "add --reset (SQLite) or pass another --db",
        )


def _demo_text(result: Any, manifest: str) -> str:
    summary = result.as_dict()
    lines = [f"demo history written: {summary.get('ledger_entries', '?')} ledger entries"]
    for product, counts in sorted(summary.get("products", {}).items()):
        lines.append(f"  {product:<14} " + "  ".join(f"{k}={v}" for k, v in counts.items()))
    if "start_us" in summary:
        lines.append(f"  from {format_us(summary['start_us'])} to {format_us(summary['end_us'])}")
    lines.append(f"  injected incidents: {len(summary.get('incidents', []))}  (manifest: {manifest})")
    return "\n".join(lines)


COMMANDS = (verify_ledger, demo)
