"""Every benchmark in one run: prints one line per figure, writes bench/results/latest.json
and a chart (bench/results/latest.png).

    .venv/bin/python -m bench.run            # full size (`make bench`, about 30 minutes)
    .venv/bin/python -m bench.run --smoke    # small sizes, under a minute (`make bench-smoke`, CI)

Figures are printed, never asserted: these machines are shared and noisy. A benchmark that
fails to run at all (a crash, a bot that never answers) does fail the run, so CI notices
when one rots.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import dashboard, fanout, interactions, startup
from bench.common import Results

RESULTS = Path(__file__).resolve().parent / "results"
SQL_SUMMARIES = ("sql.worst_step", "sql.outbox_sender_per_reply")


async def run_all(results: Results, only: set[str] | None, postgres: bool) -> list[str]:
    parts: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("interactions", lambda: interactions.main(results, postgres=postgres)),
        ("fanout", lambda: fanout.main(results)),
        ("dashboard", lambda: dashboard.main(results)),
        ("startup", lambda: startup.main(results)),
    ]
    failed = []
    for name, part in parts:
        if only and name not in only:
            continue
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        try:
            await part()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        results.details.setdefault("seconds", {})[name] = round(time.perf_counter() - began, 1)
    return failed


def chart(results: Results, path: Path) -> None:
    """Four panels: throughput against the echo bot, latency, SQL per step, dashboard p95."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = {f.key: f.value for f in results.figures if f.value is not None}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    title = "Programme Companion benchmarks" + (" (smoke sizes)" if results.smoke else "")
    fig.suptitle(title)

    ax = axes[0][0]
    bars = {
        "ours, SQLite": values.get("interactions.sqlite.updates_per_second"),
        "ours, PostgreSQL": values.get("interactions.postgresql.updates_per_second"),
        "PTB echo bot": values.get("echo.updates_per_second"),
    }
    shown = {k: v for k, v in bars.items() if v is not None}
    ax.bar(list(shown), list(shown.values()), color=["#1f77b4", "#2ca02c", "#999999"][: len(shown)])
    ax.set_title("Updates per second, flat out")
    ax.set_ylabel("updates/s")
    echo = values.get("echo.updates_per_second")
    if echo:
        ax.axhline(echo / 2, color="red", linestyle="--", label="target: half the echo bot")
        ax.legend()

    ax = axes[0][1]
    labels, p50, p95, p99 = [], [], [], []
    for key, label in (
        ("interactions.sqlite", "SQLite flat out"),
        ("interactions.postgresql", "PostgreSQL flat out"),
    ):
        if f"{key}.p50_ms" in values:
            labels.append(label)
            p50.append(values[f"{key}.p50_ms"])
            p95.append(values[f"{key}.p95_ms"])
            p99.append(values[f"{key}.p99_ms"])
    rate = results.details.get("interactions", {})
    for key, label in (("sqlite", "SQLite 100/s"), ("postgresql", "PostgreSQL 100/s")):
        fixed: dict[str, Any] | None = rate.get(key, {}).get("fixed_rate")
        if fixed:
            labels.append(label)
            p50.append(fixed["p50_ms"])
            p95.append(fixed["p95_ms"])
            p99.append(fixed["p99_ms"])
    if labels:
        positions = range(len(labels))
        width = 0.27
        ax.bar([p - width for p in positions], p50, width, label="p50")
        ax.bar(list(positions), p95, width, label="p95")
        ax.bar([p + width for p in positions], p99, width, label="p99")
        ax.set_xticks(list(positions), labels, fontsize=8)
        ax.set_yscale("log")
        ax.axhline(50, color="red", linestyle="--", label="target p99 at 100/s: 50 ms")
        ax.legend(fontsize=8)
    ax.set_title("Latency, update offered → reply sent")
    ax.set_ylabel("ms (log)")

    ax = axes[1][0]
    steps = [
        (f.key.removeprefix("sql."), f.value)
        for f in results.figures
        if f.key.startswith("sql.") and f.key not in SQL_SUMMARIES
    ]
    if steps:
        ax.barh([s for s, _ in steps], [v or 0 for _, v in steps])
        ax.axvline(6, color="red", linestyle="--", label="target: 6")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.legend()
    ax.set_title("SQL statements per interaction step")

    ax = axes[1][1]
    pages = [
        (f.label.removeprefix("Dashboard ").replace(" p95", ""), f.value)
        for f in results.figures
        if f.key.startswith("dashboard.") and f.value is not None
    ]
    if pages:
        ax.barh([p for p, _ in pages], [v or 0 for _, v in pages])
        ax.axvline(100, color="red", linestyle="--", label="target: 100 ms")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.legend()
    ax.set_title("Dashboard p95 (ms)")

    notes = []
    for key, text in (
        ("fanout.messages_per_second", "fan-out {:.1f} msg/s"),
        ("fanout.429s", "{:.0f} × 429"),
        ("startup.seconds", "start-up {:.2f} s"),
        ("startup.peak_rss_mb", "peak RSS {:.0f} MB"),
    ):
        if key in values:
            notes.append(text.format(values[key]))
    if notes:
        fig.text(0.5, 0.01, " · ".join(notes), ha="center")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--only", action="append", choices=["interactions", "fanout", "dashboard", "startup"]
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--output", type=Path, help="where to write the JSON (and the PNG)")
    arguments = parser.parse_args()
    results = Results(smoke=arguments.smoke)
    began = time.perf_counter()
    failed = asyncio.run(
        run_all(results, set(arguments.only or []) or None, not arguments.no_postgres)
    )
    output = arguments.output or RESULTS / ("smoke.json" if arguments.smoke else "latest.json")
    results.details["total_seconds"] = round(time.perf_counter() - began, 1)
    results.write(output)
    chart(results, output.with_suffix(".png"))
    missed = [f for f in results.figures if f.met is False]
    print(f"== wrote {output} and {output.with_suffix('.png').name}", flush=True)
    print(f"== {len(results.figures)} figures, {len(missed)} missed their target", flush=True)
    for figure in missed:
        print(f"   missed: {figure.label.strip()} = {figure.value}", flush=True)
    if failed:
        print(f"== failed to run: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
