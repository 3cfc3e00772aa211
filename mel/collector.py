"""The cyclic garbage collector's first threshold, raised while a worker runs.

A worker allocates about fifteen tracked objects per task (its asyncio task, coroutines,
job, outcome...). At CPython's default threshold of 700 allocations the collector runs
every fifty tasks or so and promotes the objects of every task still in flight to the
oldest generation, whose full collections then took 30% of a worker's time with 10,000
tasks in flight (``python -m bench.profile_mel w5``). At 10,000 those objects die young
and the worker ran 100,000 no-op tasks 1.3x faster.

The setting is process-wide, so it is raised only from a lower value, only while at least
one worker runs, and put back when the last one stops unless the application changed it
meanwhile.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: the first-generation threshold while a worker runs
GEN0 = 10_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def tuned() -> Iterator[None]:
    """Raise the first threshold to :data:`GEN0` (if lower) for the duration of the block."""
    global _users, _saved
    with _lock:
        _users += 1
        if _users == 1:
            current = gc.get_threshold()
            if 0 < current[0] < GEN0:
                _saved = current
                gc.set_threshold(GEN0, current[1], current[2])
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                if gc.get_threshold()[0] == GEN0:
                    gc.set_threshold(*_saved)
                _saved = None
