"""What every part of the suite shares: addresses, key names, timing and result plumbing.

This module must import only the standard library and ``redis``: it is imported inside
each peer's own virtual environment.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
VENVS = BENCH / ".venvs"

#: the queues of every engine live here; flushed before every measurement
QUEUE_DB = int(os.environ.get("BENCH_QUEUE_DB", "12"))
#: counters and lateness samples written by the job bodies
AUX_DB = int(os.environ.get("BENCH_AUX_DB", "13"))
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
QUEUE_REDIS = f"redis://{REDIS_HOST}:{REDIS_PORT}/{QUEUE_DB}"
AUX_REDIS = f"redis://{REDIS_HOST}:{REDIS_PORT}/{AUX_DB}"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_ADMIN_DB = "test"

COUNTER = "bench:count"
LATE = "bench:late"
RESULT_PREFIX = "BENCH-RESULT "


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def psql(sql: str, database: str = PG_ADMIN_DB) -> None:
    """Run one statement with the psql client (works from any virtual environment)."""
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", str(PG_PORT),
         "-U", PG_USER, "-d", database, "-c", sql],
        check=True, capture_output=True, text=True,
    )


def fresh_database(name: str) -> str:
    """Drop and create a benchmark database of our own; returns its URL."""
    assert name.startswith("bench_"), name
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    assert name.startswith("bench_"), name
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_path(engine: str) -> Path:
    DATA.mkdir(exist_ok=True)
    return DATA / f"{engine}.db"


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def redis_client(db: int) -> Any:
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)


def flush_queue_db() -> None:
    redis_client(QUEUE_DB).flushdb()


def reset_aux() -> None:
    redis_client(AUX_DB).flushdb()


def counter() -> int:
    raw = redis_client(AUX_DB).get(COUNTER)
    return int(raw or 0)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def emit(result: dict[str, Any]) -> None:
    """The driver's answer to the orchestrator: one JSON line on stdout."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)
