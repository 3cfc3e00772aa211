"""Mel for Python: a scalable, asynchronous, event-driven jobs engine.

A job is a class; a task is one scheduled use of it (now, after a delay, at a time, every
interval or on a cron schedule). Every schedule lives in one store, the single source of
truth, so workers can come and go without losing or repeating work.
"""

from __future__ import annotations

from typing import Any

from mel import clock, config, jobs, stores, tasks
from mel.config import Settings, configure
from mel.errors import (
    ConfigurationError,
    MelError,
    SchemaError,
    StoreError,
    TransactionError,
)
from mel.jobs import Job
from mel.progress import Progress, ProgressReport
from mel.runner import start, start_async, stop, stop_sync
from mel.tasks import TaskInfo
from mel.transaction import Transaction, atransaction, transaction

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "Job",
    "MelError",
    "Progress",
    "ProgressReport",
    "SchemaError",
    "Settings",
    "StoreError",
    "TaskInfo",
    "Transaction",
    "TransactionError",
    "atransaction",
    "clock",
    "config",
    "configure",
    "jobs",
    "settings",
    "start",
    "start_async",
    "stop",
    "stop_sync",
    "stores",
    "tasks",
    "transaction",
]


class _SettingsView:
    """``mel.settings``: the current settings, read-only (change them with configure)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(config.current, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"mel.settings is read-only: use mel.configure({name}=...)")

    def __repr__(self) -> str:
        return repr(config.current)


settings: Settings = _SettingsView()  # type: ignore[assignment]
