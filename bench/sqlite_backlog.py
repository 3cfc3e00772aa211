"""The SQLite store alone beside a backlog: claim (100 at a time) and delete 2,000 due tasks,
five rounds, beside N tasks due in an hour. Shows what W4 measures without the worker and
job bodies around it (for whoever optimises mel; not part of ``python -m bench``).

    .venv/bin/python -m bench.sqlite_backlog 1000000          # mel's default ids (UUIDv7)
    .venv/bin/python -m bench.sqlite_backlog 1000000 random   # random ids (UUID4 hex)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable

from bench.common import ROOT
from mel.scheduling import new_id
from mel.stores.base import Delete, NewTask, WriteBatch
from mel.stores.sqlite import SQLiteStore

DATA = '{"j":"bench.Noop","p":{}}'


async def measure(backlog: int, make_id: Callable[[], str], path: str) -> list[float]:
    store = SQLiteStore(path)
    await store.migrate()
    now = int(time.time() * 1000)
    for start in range(0, backlog, 100_000):
        size = min(100_000, backlog - start)
        tasks = [NewTask(make_id(), "default", now + 3_600_000, DATA, False) for _ in range(size)]
        await store.write(WriteBatch(tasks), now)
    rounds = []
    for _ in range(5):
        await store.write(WriteBatch([NewTask(make_id(), "default", now, DATA, False)
                                      for _ in range(2_000)]), now)
        t = time.perf_counter()
        while claimed := await store.claim("w", "tok", now + 1, 100, 30_000):
            await store.finish([Delete(c.id, "tok") for c in claimed], now)
        rounds.append((time.perf_counter() - t) * 1000)
    await store.close()
    return rounds


def main() -> None:
    backlog = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    random_ids = len(sys.argv) > 2 and sys.argv[2] == "random"
    path = str(ROOT / "bench" / ".data" / "sqlite_backlog.db")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    make_id = (lambda: os.urandom(16).hex()) if random_ids else new_id
    rounds = asyncio.run(measure(backlog, make_id, path))
    print(f"backlog {backlog:,}, {'random' if random_ids else 'UUIDv7'} ids: "
          + ", ".join(f"{r:.0f}" for r in rounds) + " ms per 2,000 claimed and deleted")


if __name__ == "__main__":
    main()
