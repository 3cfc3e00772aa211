"""``python -m bench``: every workload against mel and its peers, one table.

    python -m bench [--quick] [--only mel] [--workloads W1,W2] [--n N] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import common, report, venvs
from bench.engines import BACKENDS

ALL = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")
W7_SET = ("W1", "W2", "W3", "W4")
#: Rounds per engine of a workload whose runs take seconds: engines take turns, in
#: alternating order, and each figure is the median of its rounds (W1's ratio moved by
#: ±15% between two paired runs minutes apart on this shared machine).
ROUNDS = {"W1": 3}


def median_cell(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from several rounds: the median of those that measured something."""
    values = [float(c["value"]) for c in cells if "value" in c]
    if not values:
        return cells[0]
    cell: dict[str, Any] = {"value": statistics.median(values)}
    if len(values) > 1:
        cell["rounds"] = values
    note = next((c["note"] for c in cells if c.get("note")), None)
    if note:
        cell["note"] = note
    return cell


def calibrate(n: int) -> dict[str, float]:
    """Raw sequential INCR round trips (sync and async, redis-py + hiredis, as mel uses)
    and the cost of awaiting the no-op body itself."""
    import redis
    import redis.asyncio

    client = redis.Redis(host=common.REDIS_HOST, port=common.REDIS_PORT, db=common.AUX_DB)
    client.incr("bench:calib")
    t = time.perf_counter()
    for _ in range(n):
        client.incr("bench:calib")
    sync_rate = n / (time.perf_counter() - t)

    async def arate() -> float:
        aclient = redis.asyncio.Redis(host=common.REDIS_HOST, port=common.REDIS_PORT,
                                      db=common.AUX_DB)
        await aclient.incr("bench:calib")
        t = time.perf_counter()
        for _ in range(n):
            await aclient.incr("bench:calib")
        rate = n / (time.perf_counter() - t)
        await aclient.aclose()
        return rate

    async_rate = asyncio.run(arate())
    client.delete("bench:calib")
    from bench.apps.mel_app import Noop

    async def body() -> float:
        job = Noop()
        m = 200_000
        t = time.perf_counter()
        for _ in range(m):
            await job.run()
        return (time.perf_counter() - t) / m * 1e9

    body_ns = asyncio.run(body())
    return {"sync_incr": sync_rate, "async_incr": async_rate, "noop_body_ns": body_ns}


def plan(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    wanted = [w.strip().upper() for w in args.workloads.split(",")] if args.workloads else list(
        ALL)
    for w in wanted:
        if w not in ALL and w != "W1B":
            raise SystemExit(f"unknown workload {w}; choose from {', '.join(ALL)}")
    wanted = ["W1" if w == "W1B" else w for w in wanted]
    n = args.n or (2_000 if args.quick else 20_000)
    if args.quick or args.n:
        params = {"n": n, "late": min(500, max(20, n // 4)), "due": min(2_000, n),
                  "backlogs": [0, n * 5, min(1_000_000, n * 50)], "w5": n * 5,
                  "timeout": 60.0, "max_load": 60.0}
    else:
        params = {"n": n}
    return wanted, params


def run_driver(engine: str, backend: str, workloads: list[str], params: dict[str, Any],
               log: Path, timeout: float) -> dict[str, dict[str, Any]]:
    python = venvs.ensure(engine)
    cmd = [str(python), "-m", "bench.driver", engine, backend, ",".join(workloads),
           "--params", json.dumps({**params, "log": str(log)})]
    env = dict(os.environ, PYTHONPATH=str(common.ROOT))
    metrics: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=common.ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=err, text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate()
            metrics[f"{','.join(workloads)} timed out"] = {"na": f"over {timeout:.0f} s"}
    for line in out.splitlines():
        if line.startswith(common.RESULT_PREFIX):
            result = json.loads(line[len(common.RESULT_PREFIX):])
            for key, cell in result["metrics"].items():
                name = f"{result['workload']} failed" if key == "_error" else key
                metrics[name] = cell
    if not metrics:
        metrics[f"{','.join(workloads)} failed"] = {"na": f"driver exit {proc.returncode}"}
    print(f"# {engine} on {backend}: {', '.join(workloads)} in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return metrics


def machine() -> dict[str, str]:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = common.redis_client(common.QUEUE_DB).info("server")
    pg = subprocess.run(["psql", "-h", common.PG_HOST, "-U", common.PG_USER, "-d",
                         common.PG_ADMIN_DB, "-tAc", "show server_version"],
                        capture_output=True, text=True, check=False).stdout.strip()
    return {"cores": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "redis": str(info.get("redis_version")), "postgres": pg or "?",
            "os": platform.platform()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N, for iteration")
    parser.add_argument("--only", help="comma-separated engines (default: all)")
    parser.add_argument("--workloads", help=f"comma-separated, of {','.join(ALL)}")
    parser.add_argument("--n", type=int, help="jobs for W1/W2/W6 (scales the others)")
    parser.add_argument("--out", help="write the report here (default: print only)")
    parser.add_argument("--merge", action="store_true",
                        help="start from the figures of the last run with the same --out "
                             "(FILE.json) and replace only what this run measures")
    args = parser.parse_args()
    wanted, params = plan(args)
    only = set(args.only.split(",")) if args.only else None
    started = time.perf_counter()
    logs = common.DATA / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    # the figures behind the report, for --merge (next to --out, or in bench/.data/)
    saved = Path(args.out).with_suffix(".json") if args.out else common.DATA / "last.json"
    results: report.Results = {}
    versions: dict[str, str] = {}
    commands: list[str] = []
    command = "python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if args.merge and saved.exists():
        # the calibration of the run merged into stays: it is what its figures compare to
        previous = json.loads(saved.read_text())
        results, versions = previous["results"], previous["versions"]
        calib, lines = previous["calib"], previous["calibration"]
        commands, started = previous["commands"], started - previous["elapsed"]
    else:
        calib = calibrate(min(params["n"], 20_000))
        lines = [f"calibration: raw sequential INCR, sync redis-py+hiredis: "
                 f"{calib['sync_incr']:,.0f}/s",
                 f"calibration: raw sequential INCR, async redis-py+hiredis: "
                 f"{calib['async_incr']:,.0f}/s",
                 f"calibration: awaiting the no-op body itself: "
                 f"{calib['noop_body_ns']:.0f} ns/job"]
    commands.append(command)
    for line in lines:
        print(line, flush=True)

    redis_work = [w for w in wanted if w in ("W1", "W2", "W3", "W4", "W5", "W6")]
    other_work = [w for w in W7_SET if w in wanted] if "W7" in wanted else []
    if "W7" in wanted and not other_work:
        other_work = list(W7_SET)
    runs: list[tuple[str, list[str]]] = []
    if redis_work:
        runs.append(("redis", redis_work))
    if other_work:
        runs += [("sqlite", other_work), ("postgres", other_work)]
    timeout = 1500 if not args.quick else 600
    for backend, work in runs:
        engines = [e for e in BACKENDS[backend] if not only or e in only]
        for engine in engines:
            (logs / f"{engine}-{backend}.log").unlink(missing_ok=True)
        cells: dict[str, dict[str, list[dict[str, Any]]]] = {}
        # Workload by workload, every engine in turn: two engines' figures of one workload
        # are minutes apart, not a whole engine's run (40 min in the last full run by
        # engine, while the host's speed drifted by half).
        for workload in work:
            takers = [e for e in engines if workload != "W5" or e == "mel"]
            for round_ in range(ROUNDS.get(workload, 1)):
                for engine in takers if round_ % 2 == 0 else takers[::-1]:
                    log = logs / f"{engine}-{backend}.log"
                    try:
                        metrics = run_driver(engine, backend, [workload], params, log, timeout)
                    except (subprocess.CalledProcessError, OSError) as exc:
                        metrics = {"install": {"na": f"cannot install: {exc}"}}
                    for key, cell in metrics.items():
                        cells.setdefault(engine, {}).setdefault(key, []).append(cell)
                    if engine not in versions:
                        versions[engine] = venvs.versions(engine)
        for engine, by_metric in cells.items():
            results.setdefault(backend, {})[engine] = {
                key: median_cell(runs_) for key, runs_ in by_metric.items()}

    elapsed = time.perf_counter() - started
    saved.write_text(json.dumps({"results": results, "versions": versions, "calib": calib,
                                 "calibration": lines, "commands": commands,
                                 "elapsed": elapsed}))
    text, notes = report.table(results)
    checks = report.targets(results, calib) if "mel" in results.get("redis", {}) else []
    print()
    print(text)
    if notes:
        print("\nNotes (*):")
        for note in notes:
            print(f"- {note}")
    if checks:
        print("\nTargets:")
        for c in checks:
            print(c)
    print(f"\n# total {elapsed:.0f} s", file=sys.stderr)
    if args.out:
        write(Path(args.out), text, notes, checks, lines, versions, params, elapsed, commands)
    return 0


def write(path: Path, text: str, notes: list[str], checks: list[str], calib: list[str],
          versions: dict[str, str], params: dict[str, Any], elapsed: float,
          commands: list[str]) -> None:
    m = machine()
    command = "`, then `".join(commands)
    body = [
        "# Benchmark results", "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {m['cores']} cores, {m['cpu']}, {m['os']}",
        f"- Python {m['python']}, Redis {m['redis']}, PostgreSQL {m['postgres']}",
        f"- command: `{command}` (from the repository root, in `.venv`), "
        f"took {elapsed / 60:.1f} min",
        f"- parameters: `{json.dumps(params)}`; engines run workload by workload, in turn; "
        f"W1 is the median of {ROUNDS['W1']} rounds, engines in alternating order",
        "- packages: " + "; ".join(f"{e}: {v}" for e, v in versions.items()),
        "", "## Calibration", "", *[f"- {c}" for c in calib],
        "", "## Results", "",
        "Ratios are speed-ups: above 1.00x mel beats the best peer. `*`: see notes.", "",
        text, "",
    ]
    if notes:
        body += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    if checks:
        body += ["## Targets", "", *checks, ""]
    path.write_text("\n".join(body))


if __name__ == "__main__":
    raise SystemExit(main())
