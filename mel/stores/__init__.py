"""Stores: where tasks live. ``open_store(url)`` picks one by URL scheme.

Drivers are imported lazily, so ``mel`` needs ``redis`` or ``psycopg`` only when a store of
that kind is used (``pip install mel-jobs[redis]`` / ``mel-jobs[postgres]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mel.errors import ConfigurationError
from mel.stores.base import Store
from mel.stores.memory import MemoryStore

if TYPE_CHECKING:
    from mel.stores.postgres import PostgresStore
    from mel.stores.redis import RedisStore
    from mel.stores.sqlite import SQLiteStore

__all__ = ["MemoryStore", "PostgresStore", "RedisStore", "SQLiteStore", "Store", "open_store"]

_LAZY = {
    "SQLiteStore": ("mel.stores.sqlite", None),
    "RedisStore": ("mel.stores.redis", "redis"),
    "PostgresStore": ("mel.stores.postgres", "postgres"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mel.stores' has no attribute {name!r}")
    module, extra = _LAZY[name]
    try:
        imported = __import__(module, fromlist=[name])
    except ImportError as exc:
        hint = f" (install it with: pip install 'mel-jobs[{extra}]')" if extra else ""
        raise ConfigurationError(f"{name} needs a driver that is not installed{hint}") from exc
    return getattr(imported, name)


def _build(name: str, *args: Any, **options: Any) -> Store:
    store: Store = __getattr__(name)(*args, **options)
    return store


def _pop_namespace(url: str, options: dict[str, Any]) -> str:
    """Move a ``namespace=`` query parameter (ours, not the driver's) into ``options``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k != "namespace"]
    if len(kept) == len(query):
        return url
    options.setdefault("namespace", dict(query)["namespace"])
    return urlunsplit(parts._replace(query=urlencode(kept)))


def open_store(url: str, **options: Any) -> Store:
    """Build the store a URL names: ``memory://``, ``sqlite:///path``, ``redis://``,
    ``rediss://``, ``postgresql://`` (or ``postgres://``). Redis and PostgreSQL URLs may
    carry ``?namespace=name`` (default ``mel``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(
            f"store URL {url!r} has no scheme; use memory://, sqlite:///path, "
            "redis://host:6379/0 or postgresql://..."
        )
    scheme = scheme.lower()
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        # sqlite:///relative.db -> "relative.db"; sqlite:////abs/path.db -> "/abs/path.db"
        return _build("SQLiteStore", rest[1:] if rest.startswith("/") else rest, **options)
    if scheme in ("redis", "rediss", "unix"):
        return _build("RedisStore", _pop_namespace(url, options), **options)
    if scheme in ("postgresql", "postgres"):
        return _build("PostgresStore", _pop_namespace(url, options), **options)
    raise ConfigurationError(
        f"unknown store URL scheme {scheme!r} in {url!r}; "
        "use memory://, sqlite:///path, redis://, rediss:// or postgresql://"
    )
