"""Benchmark: Great Expectations validation of N flattened metadata rows vs loading those rows into pandas.

Rows look like the demo's conversation metadata (nine top-level fields plus a nested object). Measured in one
process, median of ``--trials``:

* ``gx_import`` — importing Great Expectations (once, reported on its own, never in the loop);
* ``flatten`` — the drift check's fast flatten of the JSON documents (reported, not in the ratio);
* ``pandas_load`` (the baseline) — ``pandas.DataFrame.from_records`` over the flattened rows;
* ``frame`` — the drift check's own typed frame (``checks.drift.frame.build_frame``);
* ``gx_validate`` — ``ValidationDefinition.run`` of the baseline's suite (ephemeral context) on that frame.

The figure of merit is ``gx_validate / pandas_load`` (target ≤ 2). Results go to
``bench/results/drift_validation.json``.

    .venv/bin/python bench/drift_validation.py [--rows 1000000] [--trials 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"


def documents(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    models, languages, channels = ("m-small", "m-large", "m-tuned"), ("en", "hi", "ta", "fr"), ("web", "app", "api")
    return [
        {
            "conversation_id": f"conv-{i // 6:07d}",
            "turn": i % 6 + 1,
            "role": "user" if i % 2 else "assistant",
            "kind": "turn",
            "model": rng.choice(models),
            "language": rng.choice(languages),
            "channel": rng.choice(channels),
            "tokens_in": rng.randint(1, 900),
            "usage": {"tokens_out": rng.randint(0, 900), "latency_ms": rng.random() * 900},
        }
        for i in range(n)
    ]


def timed(fn: Callable[[], Any], trials: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(trials):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def run(rows: int, trials: int) -> dict[str, Any]:
    started = time.perf_counter()
    from bucket_governance.checks.drift.suite import gx_context, import_gx, validate_frame

    import_gx()
    gx_import = time.perf_counter() - started
    import pandas as pd

    from bucket_governance.checks.drift.baselines import Baseline, profile_fields
    from bucket_governance.checks.drift.frame import MetadataWindow, build_frame, flatten

    docs = documents(rows)
    flatten_s, flat = timed(lambda: [flatten(d) for d in docs], trials)
    window = MetadataWindow("ai_assistant", "ConversationArtifact", rows=flat)
    stats = window.stats()
    specs = tuple(profile_fields(stats, rows, {"role": ["user", "assistant"], "channel": ["web", "app", "api"]}))
    baseline = Baseline("bench/v1", "ai_assistant", "ConversationArtifact", 1, "current", specs, "", 0, 0, rows,
                        "bench", 0, "bench", 0, 1)  # fmt: skip
    load_s, _ = timed(lambda: pd.DataFrame.from_records(flat), trials)
    frame_s, frame = timed(lambda: build_frame(flat, {s.name: s.type for s in specs}, stats), trials)
    context = gx_context(None)
    validate_frame(context, baseline, frame.head(1000))  # warm-up: suite/definition registration, metric caches
    validate_s, validation = timed(lambda: validate_frame(context, baseline, frame), trials)
    assert not validation.failed, [o for o in validation.failed]
    return {
        "benchmark": "drift_validation",
        "rows": rows,
        "columns": len(specs),
        "expectations": len(validation.outcomes),
        "trials": trials,
        "seconds": {
            "gx_import": round(gx_import, 3),
            "flatten": round(flatten_s, 3),
            "pandas_load": round(load_s, 3),
            "frame": round(frame_s, 3),
            "gx_validate": round(validate_s, 3),
        },
        "ratio_gx_validate_to_pandas_load": round(validate_s / load_s, 2),
        "ratio_frame_to_pandas_load": round(frame_s / load_s, 2),
        "target_ratio": 2.0,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "great_expectations": import_gx().__version__,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="flattened metadata rows (default 1,000,000)")
    parser.add_argument("--trials", type=int, default=3, help="timed repetitions, median reported (default 3)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where drift_validation.json goes")
    args = parser.parse_args(argv)
    result = run(args.rows, args.trials)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "drift_validation.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
