"""The job bodies every engine runs: one Redis INCR (W2), a lateness sample (W3), nothing.

Sync bodies share one client per process; async bodies one client per event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import redis
import redis.asyncio

from bench.common import AUX_DB, COUNTER, LATE, REDIS_HOST, REDIS_PORT

_sync: redis.Redis | None = None
_lock = threading.Lock()
_async: dict[asyncio.AbstractEventLoop, Any] = {}


def _client() -> redis.Redis:
    global _sync
    if _sync is None:
        with _lock:
            if _sync is None:
                _sync = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=AUX_DB,
                                    max_connections=64)
    return _sync


def _aclient() -> Any:
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None:
        client = _async[loop] = redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=AUX_DB)
    return client


def incr() -> None:
    _client().incr(COUNTER)


def late(sched: float) -> None:
    _client().rpush(LATE, time.time() - sched)


async def aincr() -> None:
    await _aclient().incr(COUNTER)


async def alate(sched: float) -> None:
    await _aclient().rpush(LATE, time.time() - sched)
