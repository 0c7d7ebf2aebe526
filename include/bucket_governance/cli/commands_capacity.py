"""Capacity projection: ``bucket-gov capacity`` — the same library call the daily DAG makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bucket_governance.cli.context import CliContext, format_us, parse_time_us, resolve_window
from bucket_governance.errors import EXIT_DENIED_OR_FOUND, InvalidInputError

if TYPE_CHECKING:
    from bucket_governance.checks.capacity.pipeline import CapacityResult
    from bucket_governance.checks.capacity.projection import LimitProjection

pass_cli = click.make_pass_decorator(CliContext)
DAY_US = 86_400_000_000


@click.command()
@click.option("--since", help="Start of the days whose usage is recomputed, ISO 8601 (default: 1 day before --until).")
@click.option("--until", help="End of the window, ISO 8601 (default: now).")
@click.option("--as-of", "as_of", help="Project from the history up to this time (default: --until).")
@click.option("--no-pictures", is_flag=True, help="Skip the PNGs (they go to <var_dir>/capacity/ otherwise).")
@pass_cli
def capacity(cli: CliContext, since: str | None, until: str | None, as_of: str | None, no_pictures: bool) -> int:
    """Refresh the daily usage history, project every growing limit, print a table and write the pictures.

    Exit 1 when any limit is WARNING or CRITICAL. Missing earlier days of history are filled in
    automatically, so the first run on an existing Bucket builds the whole history.
    """

    from bucket_governance.checks.capacity.pipeline import run_capacity

    start, end = resolve_window(since, until, DAY_US)
    as_of_us = parse_time_us(as_of, "--as-of") or end
    if as_of_us > end:
        raise InvalidInputError("as_of_invalid", "--as-of must not be later than --until (no history after it)")
    pictures = None if no_pictures else cli.settings.var_dir / "capacity"
    result = run_capacity(
        cli.engine, cli.policy, window_start_us=start, window_end_us=end, as_of_us=as_of_us, pictures_dir=pictures
    )
    cli.emit(_document(result), _text(result))
    return EXIT_DENIED_OR_FOUND if result.status in ("WARNING", "CRITICAL") else 0


def _document(result: CapacityResult) -> dict[str, Any]:
    from bucket_governance.checks.capacity.pipeline import projection_row

    rows = []
    for r in result.limits:
        row = projection_row(result.run_id, r)
        row.pop("run_id")
        rows.append(row)
    return {**result.summary(), "projections": rows}


def _text(result: CapacityResult) -> str:
    lines = [
        f"capacity projection as of {format_us(result.as_of_us)}: {result.status} (run {result.run_id})",
        f"  {'scope':<13} {'limit':<22} {'status':<13} {'now':>10} {'P50 6m':>10} {'P50 12m':>10} "
        f"{'limit':>10} {'critical in':>14}",
    ]
    lines += [_line(r) for r in result.limits]
    lines += [f"  picture: {p}" for p in result.pictures]
    return "\n".join(lines)


def _line(r: LimitProjection) -> str:
    six, twelve = r.at(182), r.at(365)
    days = r.days_to.get("critical")
    when = (
        "-"
        if days is None
        else f"{days} d ({r.days_to.get('critical_earliest')}–{r.days_to.get('critical_latest') or '>365'})"
    )
    return (
        f"  {r.spec.scope:<13} {r.spec.name:<22} {r.status:<13} {_num(r.current, r.spec.unit):>10}"
        f" {_num(six[1] if six else None, r.spec.unit):>10} {_num(twelve[1] if twelve else None, r.spec.unit):>10}"
        f" {_num(r.spec.limit, r.spec.unit):>10} {when:>14}"
    )


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        for factor, name in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if value >= factor:
                return f"{value / factor:.1f} {name}"
        return f"{value:.0f} B"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


COMMANDS = (capacity,)
