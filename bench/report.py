"""The table, the calibration lines, the target checks and RESULTS.md."""

from __future__ import annotations

import math
from typing import Any

from bench.engines import BACKENDS

Results = dict[str, dict[str, dict[str, Any]]]  # backend -> engine -> metric -> cell
ENGINE_ORDER = ["mel", "rq", "arq", "saq", "dramatiq", "celery", "huey", "taskiq", "streaq",
                "pgqueuer", "procrastinate"]


def higher_is_better(metric: str) -> bool:
    return "jobs/s" in metric


def fmt(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "—"
    if "na" in cell:
        return f"n/a ({cell['na']})"
    v = float(cell["value"])
    if math.isnan(v):
        text = "nan"
    elif abs(v) >= 1000:
        text = f"{v:,.0f}"
    elif abs(v) >= 100:
        text = f"{v:.0f}"
    elif abs(v) >= 10:
        text = f"{v:.1f}"
    else:
        text = f"{v:.3g}" if abs(v) >= 0.01 else f"{v:.2g}"
    return text + (" *" if cell.get("note") else "")


def value(cell: dict[str, Any] | None) -> float | None:
    if cell is None or "value" not in cell:
        return None
    v = float(cell["value"])
    return None if math.isnan(v) else v


def ratio(metric: str, row: dict[str, dict[str, Any]]) -> str:
    """mel's figure against the best peer's, as a speed-up: above 1 means mel is better."""
    if "(%)" in metric:
        return "—"
    mine = value(row.get("mel"))
    peers = [v for e, c in row.items() if e != "mel" and (v := value(c)) is not None]
    if mine is None or not peers:
        return "—"
    if higher_is_better(metric):
        best = max(peers)
        return f"{mine / best:.2f}x" if best > 0 else "—"
    best = min(peers)
    return f"{best / mine:.2f}x" if mine > 0 else "—"


def table(results: Results) -> tuple[str, list[str]]:
    engines = [e for e in ENGINE_ORDER if any(e in r for r in results.values())]
    head = ["workload", "store", *engines, "mel vs best peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes: list[str] = []
    for backend in ("redis", "sqlite", "postgres"):
        per_engine = results.get(backend, {})
        metrics: list[str] = []
        for e in engines:
            for m in per_engine.get(e, {}):
                if m not in metrics:
                    metrics.append(m)
        for m in metrics:
            row = {e: per_engine[e][m] for e in engines if m in per_engine.get(e, {})}
            cells = []
            for e in engines:
                if e not in BACKENDS[backend]:
                    cells.append("")
                    continue
                cell = row.get(e)
                cells.append(fmt(cell))
                if cell and cell.get("note"):
                    notes.append(f"{backend} / {e} / {m}: {cell['note']}")
            lines.append("| " + " | ".join([m, backend, *cells, ratio(m, row)]) + " |")
    return "\n".join(lines), notes


def _get(results: Results, backend: str, engine: str, prefix: str) -> float | None:
    for m, c in results.get(backend, {}).get(engine, {}).items():
        if m.startswith(prefix):
            return value(c)
    return None


def _best_peer(results: Results, backend: str, prefixes: tuple[str, ...],
               peers: tuple[str, ...] | None = None) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    for e, metrics in results.get(backend, {}).items():
        if e == "mel" or (peers and e not in peers):
            continue
        for m, c in metrics.items():
            v = value(c)
            if v is not None and m.startswith(prefixes) and (best is None or v > best[0]):
                best = (v, e)
    return best


def targets(results: Results, calib: dict[str, float]) -> list[str]:
    out: list[str] = []

    def check(name: str, ok: bool | None, detail: str) -> None:
        mark = "n/a" if ok is None else ("MET" if ok else "MISSED")
        out.append(f"- **{name}**: {mark} — {detail}")

    w1 = _get(results, "redis", "mel", "W1 enqueue, one sync")
    best = _best_peer(results, "redis", ("W1 enqueue, one",))
    if w1 is not None and best:
        check("W1 ≥ 1.5x best peer", w1 >= 1.5 * best[0],
              f"mel {w1:,.0f}/s vs {best[1]} {best[0]:,.0f}/s = {w1 / best[0]:.2f}x")
    if w1 is not None and calib.get("sync_incr"):
        r = w1 / calib["sync_incr"]
        check("W1 ≥ 85% of raw sync INCR", r >= 0.85,
              f"mel {w1:,.0f}/s vs raw {calib['sync_incr']:,.0f}/s = {r:.0%}")
    bulk100k = _get(results, "redis", "mel", "W5 bulk schedule")
    w5n = next((m for m in results.get("redis", {}).get("mel", {}) if m.startswith("W5 bulk")),
               "")
    if bulk100k is not None:
        check("W1b 100,000 in ≤ 1 s", bulk100k <= 1.0, f"{w5n}: {bulk100k:.2f} s")
    w2 = _get(results, "redis", "mel", "W2 process, body")
    best = _best_peer(results, "redis", ("W2 process, body",))
    if w2 is not None and best:
        check("W2 ≥ 2x best peer", w2 >= 2 * best[0],
              f"mel {w2:,.0f}/s vs {best[1]} {best[0]:,.0f}/s = {w2 / best[0]:.2f}x")
    p99 = _get(results, "redis", "mel", "W3 lateness p99")
    if p99 is not None:
        check("W3 p99 ≤ 10 ms", p99 <= 10, f"p99 {p99:.1f} ms")
    slow = _get(results, "redis", "mel", "W4 slowdown")
    if slow is not None:
        check("W4 ≤ 10% slower with the largest backlog", slow <= 10, f"{slow:+.0f}%")
    run = _get(results, "redis", "mel", "W5 run")
    if run is not None:
        check("W5 run ≤ 5 s", run <= 5, f"{run:.2f} s")
    seq = _get(results, "redis", "mel", "W5 sequential")
    if seq is not None and w1 is not None and w5n:
        check("W5 sequential ≥ W1", None if seq <= 0 else (_w5_n(results) / seq) >= w1 * 0.999,
              f"{_w5_n(results) / seq:,.0f}/s vs W1 {w1:,.0f}/s")
    mem = _get(results, "redis", "mel", "W6")
    if mem is not None:
        check("W6 ≤ 250 bytes per task", mem <= 250, f"{mem:.0f} bytes")
    pg = _get(results, "postgres", "mel", "W2 process, body")
    pgq = _get(results, "postgres", "pgqueuer", "W2 process, body")
    if pg is not None and pgq:
        check("W7 PostgreSQL W2 ≥ 1.5x pgqueuer", pg >= 1.5 * pgq,
              f"mel {pg:,.0f}/s vs pgqueuer {pgq:,.0f}/s = {pg / pgq:.2f}x")
    sq = _get(results, "sqlite", "mel", "W2 process, body")
    hu = _get(results, "sqlite", "huey", "W2 process, body")
    if sq is not None and hu:
        check("W7 SQLite W2 ≥ 2x huey", sq >= 2 * hu,
              f"mel {sq:,.0f}/s vs huey {hu:,.0f}/s = {sq / hu:.2f}x")
    sqs = _get(results, "sqlite", "mel", "W4 slowdown")
    if sqs is not None:
        check("W7 SQLite W4 flat (≤ 10%)", sqs <= 10, f"{sqs:+.0f}%")
    return out


def _w5_n(results: Results) -> int:
    for m in results.get("redis", {}).get("mel", {}):
        if m.startswith("W5 sequential schedule "):
            return int(m.split("schedule ")[1].split(" ")[0].replace(",", ""))
    return 0
