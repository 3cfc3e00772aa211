"""Settings: ``mel.configure(...)`` and the read-only ``mel.settings`` view."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mel.clock import duration_ms, zone
from mel.errors import ConfigurationError
from mel.stores import Store, open_store

log = logging.getLogger("mel")

_UNSET: Any = object()


def _local_zone() -> tzinfo:
    """The system's local zone, as an IANA zone where it can be found."""
    name = os.environ.get("TZ")
    if name:
        try:
            return ZoneInfo(name.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return ZoneInfo("UTC")


def _log_error(exc: BaseException) -> None:
    """The default error handler: Mel has already logged the error; nothing more to do."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The current settings; change them with :func:`mel.configure`."""

    store: Store | None
    store_configured: bool
    timezone: ZoneInfo
    error_handler: Callable[[BaseException], Any]
    batch_size: int
    poll_interval: float
    worker_id: str | None
    progress_expiry: timedelta | None
    lease: float
    failed_ttl: timedelta | None

    @property
    def lease_ms(self) -> int:
        """The lease in milliseconds."""
        return round(self.lease * 1000)


def _defaults() -> Settings:
    zone = _local_zone()
    return Settings(
        store=None,
        store_configured=False,
        timezone=zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC"),
        error_handler=_log_error,
        batch_size=-100,
        poll_interval=3.0,
        worker_id=None,
        progress_expiry=timedelta(days=1),
        lease=30.0,
        failed_ttl=timedelta(days=7),
    )


current: Settings = _defaults()


def _zone(value: str | tzinfo) -> ZoneInfo:
    try:
        return zone(value, "timezone")
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from exc


def _seconds(value: float | timedelta, name: str) -> float:
    seconds = duration_ms(value, name) / 1000
    if seconds <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return seconds


def _optional_delta(value: timedelta | None, name: str) -> timedelta | None:
    if value is not None and not isinstance(value, timedelta):
        raise TypeError(f"{name} must be a timedelta or None, got {value!r}")
    return value


def configure(
    *,
    store: str | Store | None = _UNSET,
    timezone: str | tzinfo = _UNSET,
    error_handler: Callable[[BaseException], Any] = _UNSET,
    batch_size: int = _UNSET,
    poll_interval: float | timedelta = _UNSET,
    worker_id: str | None = _UNSET,
    progress_expiry: timedelta | None = _UNSET,
    lease: float | timedelta = _UNSET,
    failed_ttl: timedelta | None = _UNSET,
) -> Settings:
    """Change the settings named; the others keep their values. Returns the new settings.

    ``store`` is a URL (``sqlite:///mel.db``, ``redis://...``), a :class:`~mel.stores.Store`,
    or ``None`` to disable storage (every ``run_*`` then returns ``None``).
    """
    global current
    changes: dict[str, Any] = {}
    if store is not _UNSET:
        changes["store"] = open_store(store) if isinstance(store, str) else store
        if changes["store"] is not None and not isinstance(changes["store"], Store):
            raise ConfigurationError(f"store must be a URL, a Store or None, got {store!r}")
        changes["store_configured"] = True
    if timezone is not _UNSET:
        changes["timezone"] = _zone(timezone)
    if error_handler is not _UNSET:
        if not callable(error_handler):
            raise TypeError("error_handler must be callable")
        changes["error_handler"] = error_handler
    if batch_size is not _UNSET:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size == 0:
            raise ValueError("batch_size 0 would never run anything; use N, -N or -1")
        changes["batch_size"] = batch_size
    if poll_interval is not _UNSET:
        changes["poll_interval"] = _seconds(poll_interval, "poll_interval")
    if worker_id is not _UNSET:
        if worker_id is not None and (not isinstance(worker_id, str | int) or worker_id == ""):
            raise TypeError(f"worker_id must be a non-empty string or None, got {worker_id!r}")
        changes["worker_id"] = None if worker_id is None else str(worker_id)
    if progress_expiry is not _UNSET:
        changes["progress_expiry"] = _optional_delta(progress_expiry, "progress_expiry")
    if lease is not _UNSET:
        changes["lease"] = _seconds(lease, "lease")
    if failed_ttl is not _UNSET:
        changes["failed_ttl"] = _optional_delta(failed_ttl, "failed_ttl")
    current = replace(current, **changes)
    return current


def require_store() -> Store | None:
    """The configured store; None if storage is disabled.

    With no store configured, ``MEL_STORE`` names one; failing that this raises
    :class:`ConfigurationError` saying how to configure one.
    """
    global current
    if not current.store_configured:
        url = os.environ.get("MEL_STORE")
        if not url:
            raise ConfigurationError(
                "no store is configured: call mel.configure(store='sqlite:///mel.db') "
                "(or redis://..., postgresql://..., memory://), or set MEL_STORE"
            )
        current = replace(current, store=open_store(url), store_configured=True)
    return current.store


def reset() -> None:
    """Restore the default settings (for tests)."""
    global current
    current = _defaults()
