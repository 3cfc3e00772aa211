"""``mel demo``: a newcomer's first run, on the embedded SQLite store.

It schedules one of each kind of task, runs a worker in this process, shows what happens
live in the terminal and ends by itself with a summary.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import datetime, timedelta

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

import mel
import mel.testing

_log: list[tuple[float, str, str]] = []
_counts: Counter[str] = Counter()
_started = time.monotonic()


def _note(kind: str, text: str) -> None:
    _log.append((time.monotonic() - _started, kind, text))
    _counts[kind] += 1


class Greet(mel.Job, name="mel.demo.Greet"):
    """An instant task."""

    name: str

    async def run(self) -> None:
        _note("instant", f"Hello, {self.name}!")


class Remind(mel.Job, name="mel.demo.Remind"):
    """A delayed task."""

    what: str
    scheduled_at: datetime

    async def run(self) -> None:
        late = (datetime.now().astimezone() - self.scheduled_at).total_seconds()
        _note("delayed", f"Reminder: {self.what} (asked for {late:.1f}s ago)")


class Heartbeat(mel.Job, name="mel.demo.Heartbeat"):
    """A periodic task."""

    async def run(self) -> None:
        _note("periodic", "heartbeat (every 2 s)")


class Tick(mel.Job, name="mel.demo.Tick"):
    """A cron task, with a seconds field."""

    def run(self) -> None:  # a plain def: runs in a thread
        _note("cron", f"cron */5 seconds at {datetime.now():%H:%M:%S}")


class Flaky(mel.Job, name="mel.demo.Flaky"):
    """Fails twice, then succeeds on its third attempt."""

    async def run(self) -> None:
        _counts["flaky attempts"] += 1
        if _counts["flaky attempts"] < 3:
            _note("retry", f"flaky attempt {_counts['flaky attempts']} failed; retrying")
            raise RuntimeError("a flaky network")
        _note("instant", "flaky job succeeded on attempt 3")


class ImportStep(mel.Job, name="mel.demo.ImportStep"):
    """One step of a multi-step job: each step schedules the next and moves the progress."""

    progress: mel.Progress
    step: int
    steps: int

    async def run(self) -> None:
        await asyncio.sleep(random.uniform(0.4, 1.0))

    async def after_run(self, success: bool) -> None:
        if not success:
            await self.progress.afail()
            return
        value = round(100 * self.step / self.steps)
        if self.step == self.steps:
            await self.progress.asucceed()
            _note("multi-step", f"{self.progress.description}: done")
            return
        async with mel.atransaction() as tx:
            await ImportStep(progress=self.progress, step=self.step + 1,
                             steps=self.steps).arun_now(tx=tx)
            await self.progress.amove(value, tx=tx)


async def _schedule(duration: timedelta) -> list[str]:
    now = datetime.now().astimezone()
    for name in ("Ada", "Grace", "Linus"):
        await Greet(name=name).arun_now()
    await Remind(what="stretch", scheduled_at=now).arun_in(3)
    await Remind(what="drink water", scheduled_at=now).arun_in(6)
    recurring = [
        await Heartbeat().arun_every(2, start=now, until=duration, id="demo-heartbeat"),
        await Tick().arun_on("*/5 * * * * *", until=now + duration, id="demo-tick"),
    ]
    await Flaky().arun_now(retries=[1, 1, 1])
    for pid, description, steps in (("import-users", "Import users", 5),
                                    ("build-report", "Build report", 8)):
        progress = await mel.Progress.astart(pid, description)
        await ImportStep(progress=progress, step=1, steps=steps).arun_now()
    return [r for r in recurring if r]


def _view(bars: Progress, counts: dict[str, int]) -> Group:
    table = Table("t", "kind", "what happened", expand=True, show_edge=False)
    for at, kind, text in _log[-12:]:
        table.add_row(f"{at:5.1f}s", kind, text)
    state = "  ".join(f"{k}: {v}" for k, v in counts.items())
    return Group(Panel(bars, title="multi-step jobs"), Panel(table, title="tasks"),
                 f"[dim]store: {state}[/dim]")


async def _main(store: str, duration: timedelta) -> Counter[str]:
    mel.configure(store=store, poll_interval=0.5, error_handler=lambda exc: None)
    await mel.testing.atruncate()
    await _schedule(duration)
    bars = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"))
    ids = {pid: bars.add_task(pid, total=100) for pid in ("import-users", "build-report")}
    await mel.start_async()
    deadline = time.monotonic() + duration.total_seconds() + 5
    try:
        with Live(_view(bars, {}), refresh_per_second=8, console=Console()) as live:
            while time.monotonic() < deadline:
                reports = await mel.Progress.atrack(list(ids))
                for report in reports:
                    bars.update(ids[report.id], completed=max(report.value, 0),
                                description=report.description)
                counts = await mel.tasks.acounts()
                live.update(_view(bars, counts))
                if sum(counts.values()) - counts["failed"] == 0:
                    break
                await asyncio.sleep(0.125)
    finally:
        await mel.stop(timeout=5)
    return _counts


def run_demo(store: str, duration: timedelta) -> None:
    """Run the demo on ``store`` for about ``duration`` and print a summary."""
    began = time.monotonic()
    counts = asyncio.run(_main(store, duration))
    console = Console()
    console.print()
    summary = Table("kind", "runs", title="Mel demo: summary")
    for kind in ("instant", "delayed", "periodic", "cron", "retry", "multi-step"):
        summary.add_row(kind, str(counts[kind]))
    console.print(summary)
    console.print(
        f"Ran in {time.monotonic() - began:.1f}s on {store}. Every schedule lived in the store: "
        "stop the worker at any point and another picks up where it left off.\n"
        "Next: write a job (class MyJob(mel.Job)), schedule it, and run `mel worker app`."
    )
