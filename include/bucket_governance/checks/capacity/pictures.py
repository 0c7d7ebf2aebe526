"""One PNG per product and one for the total: each limit's history, projection, P10–P90 band, levels.

matplotlib's object API (``Figure`` + the Agg canvas), never ``pyplot``: no global state, no display, safe
in an Airflow worker. Imported only when pictures are asked for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bucket_governance.checks.capacity.usage import TOTAL

if TYPE_CHECKING:
    from bucket_governance.checks.capacity.projection import LimitProjection

TITLES = {
    "product_quota": "storage vs quota",
    "storage_total": "storage vs total capacity",
    "artifacts_per_product": "artifact versions",
    "artifacts_total": "artifact versions",
    "product_write_rate": "write rate (daily p99)",
    "product_read_rate": "read rate (daily p99)",
    "writes_per_second": "write rate (daily p99)",
    "reads_per_second": "read rate (daily p99)",
    "concurrent_writers": "concurrent writers (daily max)",
}
STATUS_COLOURS = {"HEALTHY": "#2e7d32", "WARNING": "#ef6c00", "CRITICAL": "#c62828", "UNPREDICTABLE": "#6a1b9a"}
# A level line is drawn when it is within this factor of the data, else named in the corner (off scale).
LEVEL_VISIBLE_FACTOR = 3.0
CEILING_OVER_CRITICAL = 1.6


def write_pictures(results: list[LimitProjection], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    scopes: dict[str, list[LimitProjection]] = {}
    for r in results:
        scopes.setdefault(r.spec.scope, []).append(r)
    return [_write_scope(scope, limits, out_dir) for scope, limits in sorted(scopes.items())]


def _write_scope(scope: str, limits: list[LimitProjection], out_dir: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = (len(limits) + 1) // 2
    figure = Figure(figsize=(13, 4.2 * rows))
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 2, squeeze=False).ravel()
    # Fixed margins: constrained layout measured every tick label and cost seconds per picture.
    height = 4.2 * rows
    figure.subplots_adjust(left=0.07, right=0.98, top=1 - 1.3 / height, bottom=0.75 / height, hspace=0.75, wspace=0.15)
    for ax, result in zip(axes, limits, strict=False):
        _panel(ax, result)
    for ax in axes[len(limits) :]:
        ax.set_visible(False)
    name = "total" if scope == TOTAL else scope
    figure.suptitle(f"Capacity projection — {name}", fontsize=14, fontweight="bold")
    path = out_dir / f"capacity-{name}.png"
    figure.savefig(path, dpi=90)
    return path


def _dates(days: list[int] | Any) -> list[date]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC).date()
    return [epoch + timedelta(days=int(d)) for d in days]


def _panel(ax: Any, r: LimitProjection) -> None:
    scale, unit = _scale(r)
    history_x = _dates(r.days)
    ax.plot(history_x, [v / scale for v in r.values], color="#1f4e79", linewidth=1.6, label="history")
    top = max([v / scale for v in r.values], default=0.0)
    if r.projection is not None and r.days:
        future_x = _dates([r.days[-1] + h for h in r.projection.horizons])
        ax.fill_between(future_x, r.projection.p10 / scale, r.projection.p90 / scale, color="#90caf9",
                        alpha=0.5, linewidth=0, label="P10–P90")  # fmt: skip
        ax.plot(future_x, r.projection.p50 / scale, color="#1f4e79", linestyle="--", linewidth=1.4, label="P50")
        ax.axvline(_dates([r.days[-1]])[0], color="#777777", linewidth=0.8)
        top = max(top, float(r.projection.p90.max()) / scale)
    top = _draw_levels(ax, r, scale, unit, top)
    # Past the critical level the band may run off to many times the limit: what matters is where it
    # crosses, so the axis stops a little above the critical line (and above the history).
    ceiling = CEILING_OVER_CRITICAL * max(r.spec.critical / scale, max([v / scale for v in r.values], default=0.0))
    ax.set_ylim(0, min(top * 1.08, ceiling) if top > 0 else 1.0)
    ax.set_ylabel(unit)
    title = f"{TITLES.get(r.spec.name, r.spec.name)} — {r.status}"
    ax.set_title(title, color=STATUS_COLOURS[r.status], loc="left", pad=30, fontweight="bold")
    ax.text(0.0, 1.02, _wrap(r.message, 95), transform=ax.transAxes, va="bottom", fontsize=8, color="#333333")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _draw_levels(ax: Any, r: LimitProjection, scale: float, unit: str, top: float) -> float:
    """Warning and critical lines (and the safe level) when near the data; otherwise a note."""
    off_scale = []
    for label, level, colour in (
        ("critical", r.spec.critical, "#c62828"),
        ("warning", r.spec.warning, "#ef6c00"),
        ("safe", r.spec.safe, "#2e7d32"),
    ):
        if level is None:
            continue
        value = level / scale
        if value > LEVEL_VISIBLE_FACTOR * max(top, 1e-12):
            off_scale.append(f"{label} {_fmt(value)} {unit}")
            continue
        ax.axhline(value, color=colour, linestyle=":", linewidth=1.3, label=f"{label} ({_fmt(value)} {unit})")
        top = max(top, value)
    if off_scale:
        ax.text(0.99, 0.03, "off scale: " + ", ".join(off_scale), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="#555555")  # fmt: skip
    return top


def _scale(r: LimitProjection) -> tuple[float, str]:
    if r.spec.unit != "bytes":
        return 1.0, r.spec.unit
    for factor, name in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if max(r.spec.critical, max(r.values, default=0.0)) >= factor:
            return factor, name
    return 1.0, "bytes"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def _wrap(text: str, width: int = 60) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
