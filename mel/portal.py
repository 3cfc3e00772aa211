"""The bridge from Mel's sync API to its async implementation.

Every store is implemented once, async. Sync calls run their coroutine on one private
event loop in a daemon thread (as APScheduler's sync scheduler does), so they work from
threads, from code with no loop, and even from inside a running loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _portal_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=run, name="mel-portal", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def call(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the portal loop and return its result (or raise its exception)."""
    loop = _portal_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("a sync Mel call was made from Mel's own portal thread")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
