"""The job registry: job name -> class, filled as job classes are defined.

A worker builds jobs only from classes it has imported; it never imports a module named
by stored data (the store may be shared and its contents untrusted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mel.errors import ConfigurationError

if TYPE_CHECKING:
    from mel.job import BaseJob as Job

_jobs: dict[str, type[Job]] = {}


def register(name: str, cls: type[Job]) -> None:
    """Add a job class; two classes may not share a name."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"job name must be a non-empty string, got {name!r}")
    existing = _jobs.get(name)
    # The same definition run again (importlib.reload, a notebook cell, a class defined in a
    # function) replaces its earlier self; only distinct definitions clash.
    same_site = existing is not None and (existing.__module__, existing.__qualname__) == (
        cls.__module__,
        cls.__qualname__,
    )
    if existing is not None and existing is not cls and not same_site:
        raise ConfigurationError(
            f"job name {name!r} is taken by {existing.__module__}.{existing.__qualname__}; "
            f"give {cls.__qualname__} another with `class {cls.__name__}(mel.Job, name=...)`"
        )
    _jobs[name] = cls


def lookup(name: str) -> type[Job] | None:
    """The job class registered under ``name``."""
    return _jobs.get(name)


def unregister(name: str) -> None:
    """Forget a job class (for tests that define jobs repeatedly)."""
    _jobs.pop(name, None)
