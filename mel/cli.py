"""The ``mel`` command: ``mel worker``, ``mel migrate``, ``mel status``, ``mel demo``.

Thin over the library: each command parses its flags (each also read from a ``MEL_*``
environment variable) and calls the public API.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
from datetime import timedelta

import click

import mel
from mel import config, runner, scheduling
from mel.errors import MelError
from mel.worker import current_task


class _TaskContext(logging.Filter):
    """Stamps every record with the task the logging code runs for (``-`` outside tasks),
    so a job's own log lines carry its task id and job name too."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = current_task.get()
        if not hasattr(record, "task_id"):
            record.task_id = current[0] if current else "-"
        if not hasattr(record, "job"):
            record.job = current[1] if current else "-"
        return True


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s [%(job)s %(task_id)s] %(message)s"
    ))
    handler.addFilter(_TaskContext())
    logging.basicConfig(level=level.upper(), handlers=[handler])


def _import_app(app: str) -> None:
    # The app module is named by the operator on the command line, never by stored data.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(app)
    except ImportError as exc:
        raise click.ClickException(f"cannot import app module {app!r}: {exc}") from exc


def _store_option(store: str | None) -> None:
    if store:
        try:
            mel.configure(store=store)
        except MelError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group()
@click.version_option(mel.__version__, prog_name="mel")
def main() -> None:
    """Mel: a scalable, asynchronous, event-driven jobs engine."""


@main.command()
@click.argument("app", envvar="MEL_APP")
@click.option("--store", envvar="MEL_STORE", help="Store URL (overrides the app's).")
@click.option("--worker-id", envvar="MEL_WORKER_ID", help="Stable name of this worker.")
@click.option("--batch-size", envvar="MEL_BATCH_SIZE", type=int,
              help="N: claim N per check; -N: at most N running; -1: no limit.")
@click.option("--poll-interval", envvar="MEL_POLL_INTERVAL", type=float,
              help="Longest idle time between store checks, in seconds.")
@click.option("--lease", envvar="MEL_LEASE", type=float, help="Lease of a claim, in seconds.")
@click.option("--queues", envvar="MEL_QUEUES", help="Comma-separated queues (default: all).")
@click.option("--log-level", envvar="MEL_LOG_LEVEL", default="info", show_default=True)
@click.option("--loop", envvar="MEL_LOOP", type=click.Choice(runner.LOOPS), default="auto",
              show_default=True, help="Event loop; auto: uvloop when installed.")
def worker(
    app: str, store: str | None, worker_id: str | None, batch_size: int | None,
    poll_interval: float | None, lease: float | None, queues: str | None, log_level: str,
    loop: str,
) -> None:
    """Import APP (a module defining the jobs) and run a worker until a signal stops it.

    SIGINT, SIGTERM or SIGHUP: stop claiming, finish running tasks, exit 0. A second
    signal hands unfinished tasks back to the store at once.
    """
    _setup_logging(log_level)
    _import_app(app)
    _store_option(store)
    try:
        overrides = {"worker_id": worker_id, "batch_size": batch_size,
                     "poll_interval": poll_interval, "lease": lease}
        mel.configure(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        queue_list = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
        mel.start(queues=queue_list, loop=loop)
    except (MelError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--store", envvar="MEL_STORE", required=True, help="Store URL.")
def migrate(store: str) -> None:
    """Create or upgrade the store's tables (idempotent)."""
    _store_option(store)
    target = config.current.store
    assert target is not None

    async def run() -> None:
        await target.migrate()
        await target.close()

    try:
        asyncio.run(run())
    except MelError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{target!r}: schema is up to date")


@main.command()
@click.option("--store", envvar="MEL_STORE", required=True, help="Store URL.")
@click.option("--limit", default=20, show_default=True, help="Tasks to list.")
def status(store: str, limit: int) -> None:
    """Show task counts and the next tasks due."""
    from rich.console import Console
    from rich.table import Table

    _store_option(store)

    async def gather() -> tuple[dict[str, int], list[mel.TaskInfo]]:
        target = config.current.store
        assert target is not None
        await scheduling.ready(target)
        try:
            return await mel.tasks.acounts(), await mel.tasks.alist(limit=limit)
        finally:
            await target.close()

    try:
        counts, tasks = asyncio.run(gather())
    except MelError as exc:
        raise click.ClickException(str(exc)) from exc
    console = Console()
    console.print("  ".join(f"[bold]{k}[/bold] {v}" for k, v in counts.items()))
    table = Table("id", "job", "state", "next run", "attempts", "queue", "schedule")
    for t in tasks:
        table.add_row(t.id, t.job_name, t.state,
                      t.next_run.isoformat(timespec="milliseconds") if t.next_run else "-",
                      str(t.attempts), t.queue, t.schedule or "")
    console.print(table)


@main.command()
@click.option("--store", envvar="MEL_DEMO_STORE", default="sqlite:///mel-demo.db",
              show_default=True, help="Store URL for the demo (it is emptied first).")
@click.option("--seconds", default=20.0, show_default=True,
              help="How long the recurring tasks keep going.")
def demo(store: str, seconds: float) -> None:
    """A first run: instant, delayed, periodic and cron tasks, a retried failure and a
    multi-step job with live progress, ending by itself with a summary."""
    from mel.demo import run_demo

    try:
        run_demo(store, timedelta(seconds=seconds))
    except MelError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":  # pragma: no cover
    main()
