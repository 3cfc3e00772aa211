"""Calling user code that must never cancel anything: callbacks and the error handler."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from mel import config

log = logging.getLogger("mel.task")


def report(exc: BaseException, what: str, extra: dict[str, Any] | None = None) -> None:
    """Log ``exc`` and pass it to ``settings.error_handler``; a failing handler is logged."""
    log.error("%s: %s: %s", what, type(exc).__name__, exc, exc_info=exc, extra=extra)
    try:
        result = config.current.error_handler(exc)
        if inspect.isawaitable(result):
            # A coroutine handler would need a loop we may not have; don't leave it unawaited.
            close = getattr(result, "close", None)
            if close is not None:
                close()
            log.warning("error_handler returned an awaitable; it must be a plain function")
    except Exception as handler_exc:
        log.exception("error_handler raised %r", handler_exc)


def call(fn: Callable[..., Any], *args: Any, what: str, extra: dict[str, Any] | None = None
         ) -> None:
    """Call a sync callback; its exception is reported and ignored."""
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise TypeError(f"{what} must be a plain function here, not async")
    except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
        report(exc, what, extra)


async def acall(fn: Callable[..., Any], *args: Any, what: str,
                extra: dict[str, Any] | None = None) -> None:
    """Call a plain or async callback; its exception is reported and ignored."""
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
        report(exc, what, extra)
