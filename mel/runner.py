"""Starting and stopping the worker of this process: ``mel.start()`` and friends."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence

from mel import config, portal
from mel.errors import ConfigurationError
from mel.worker import Worker, options_from_settings

log = logging.getLogger("mel.worker")

_worker: Worker | None = None
_task: asyncio.Task[None] | None = None


def _new_worker(queues: Sequence[str] | None) -> Worker:
    store = config.require_store()
    if store is None:
        raise ConfigurationError("storage is disabled (store=None): there is nothing to run")
    return Worker(store, options_from_settings(queues=list(queues) if queues else None))


async def start_async(queues: Sequence[str] | None = None) -> Worker:
    """Start a worker as a background task on the running loop and return it at once."""
    global _worker, _task
    if _worker is not None and _task is not None and not _task.done():
        raise RuntimeError("a Mel worker is already running in this process; stop it first")
    worker = _new_worker(queues)
    _worker, _task = worker, asyncio.create_task(worker.run(), name="mel-worker")
    started = asyncio.ensure_future(worker.started.wait())
    await asyncio.wait([started, _task], return_when=asyncio.FIRST_COMPLETED)
    if _task.done():
        started.cancel()
        _task.result()  # re-raise what stopped it from starting
    return worker


async def stop(timeout: float | None = None) -> None:
    """Ask the worker started by :func:`start_async` to stop, and wait for its running
    tasks; past ``timeout`` seconds they are handed back to the store at once."""
    global _worker, _task
    worker, task = _worker, _task
    if worker is None or task is None:
        return
    await worker.stop(timeout)
    await asyncio.gather(task, return_exceptions=True)
    _worker = _task = None


def stop_sync(timeout: float | None = None) -> None:
    """Sync twin of :func:`stop`, for a worker started on the portal loop or from a thread."""
    task = _task
    if task is None:
        return
    loop = task.get_loop()
    if loop is portal._loop:
        portal.call(stop(timeout))
    else:
        asyncio.run_coroutine_threadsafe(stop(timeout), loop).result()


#: the event loops :func:`start` can run on
LOOPS = ("auto", "asyncio", "uvloop")


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the event loop named (None: asyncio's own)."""
    if loop not in LOOPS:
        raise ConfigurationError(f"loop must be one of {', '.join(LOOPS)}, got {loop!r}")
    if loop == "asyncio":
        return None
    try:
        import uvloop  # optional: the mel-jobs[uvloop] extra
    except ImportError:
        if loop == "uvloop":
            raise ConfigurationError(
                "loop 'uvloop' needs uvloop: pip install 'mel-jobs[uvloop]'") from None
        return None
    return uvloop.new_event_loop


def start(queues: Sequence[str] | None = None, *, loop: str = "auto") -> None:
    """Run a worker in this thread until SIGINT, SIGTERM or SIGHUP, then wait for running
    tasks and return. A second signal hands unfinished tasks back to the store at once.

    ``loop``: ``"auto"`` runs on uvloop when it is installed (``mel-jobs[uvloop]``; a worker
    on Redis ran 1.2x as many jobs a second), else on asyncio's loop; ``"asyncio"`` or
    ``"uvloop"`` choose one.
    """
    with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
        runner.run(_main(queues))


async def _main(queues: Sequence[str] | None) -> None:
    worker = _new_worker(queues)
    loop = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]

    def on_signal(signum: int) -> None:
        hard = worker._stopping.is_set()
        log.info("%s: %s", signal.Signals(signum).name,
                 "handing unfinished tasks back" if hard else "finishing running tasks")
        worker.request_stop(hard=hard)

    for signum in signals:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await worker.run()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
