"""Shared fixtures: one ``store`` fixture parametrized over every store kind.

Redis and PostgreSQL tests talk to real servers on 127.0.0.1. Locally a missing server
skips those tests with a reason (shown by ``-ra``); in CI (``CI`` set) it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import mel
from mel.stores.base import Store

REDIS_URL = os.environ.get("MEL_TEST_REDIS", "redis://127.0.0.1:6379/15")
POSTGRES_DSN = os.environ.get("MEL_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
STORE_KINDS = ["memory", "sqlite", "redis", "postgres"]
# Each test session works in namespaces of its own, so two runs on one server don't collide.
SESSION_TAG = uuid.uuid4().hex[:8]


def _unavailable(kind: str, exc: BaseException) -> None:
    message = f"{kind} store unavailable: {type(exc).__name__}: {exc}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def build_store(kind: str, tmp_path: Path, tag: str = SESSION_TAG) -> Store:
    """A new store object of ``kind`` on this session's namespace."""
    if kind == "memory":
        return mel.stores.MemoryStore()
    if kind == "sqlite":
        return mel.stores.SQLiteStore(str(tmp_path / "mel.db"))
    if kind == "redis":
        return mel.stores.RedisStore(REDIS_URL, namespace=f"meltest{tag}")
    if kind == "postgres":
        return mel.stores.PostgresStore(POSTGRES_DSN, namespace=f"meltest{tag}")
    raise ValueError(kind)


def store_url(kind: str, tmp_path: Path) -> str:
    """The URL a worker process would use for ``kind`` (namespace passed separately)."""
    return {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'mel.db'}",
        "redis": REDIS_URL,
        "postgres": POSTGRES_DSN,
    }[kind]


async def open_store(kind: str, tmp_path: Path) -> Store:
    """Build, open, migrate and empty a store, failing or skipping when its server is down."""
    try:
        store = build_store(kind, tmp_path)
        await store.open()
        await store.migrate()
        await store.truncate()
    except (OSError, mel.MelError, ImportError) as exc:
        _unavailable(kind, exc)
        raise
    return store


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each kind."""
    s = await open_store(request.param, tmp_path)
    try:
        yield s
    finally:
        await s.truncate()
        await s.close()


@pytest.fixture(autouse=True)
def _reset_mel() -> Iterator[None]:
    """Each test starts from default settings and the real clock."""
    yield
    mel.clock.set_source(None)
    mel.config.reset()


@pytest.fixture(params=STORE_KINDS)
async def api_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each store kind, configured as Mel's store (timezone UTC, fast polling)."""
    s = await open_store(request.param, tmp_path)
    mel.configure(store=s, timezone="UTC", poll_interval=0.05)
    try:
        yield s
    finally:
        await s.truncate()
        await s.close()


@pytest.fixture
def memory() -> mel.stores.MemoryStore:
    """A memory store configured as Mel's store (timezone UTC)."""
    s = mel.stores.MemoryStore()
    mel.configure(store=s, timezone="UTC", poll_interval=0.05)
    return s


class FakeClock:
    """A settable clock for ``mel.clock``: time only moves when a test moves it."""

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms
        mel.clock.set_source(lambda: self.ms)

    def advance(self, seconds: float) -> None:
        self.ms += round(seconds * 1000)


@pytest.fixture
def fake_clock() -> FakeClock:
    """The clock stopped at 2027-01-15 12:00:00 UTC."""
    return FakeClock(1_800_000_000_000)


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    from tests import jobs_for_tests

    jobs_for_tests.events.clear()


@pytest.fixture(scope="session", autouse=True)
def _drop_session_schema() -> Iterator[None]:
    """Drop this session's PostgreSQL schema at the end (tests only empty it)."""
    yield
    try:
        import psycopg

        with psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "meltest{SESSION_TAG}" CASCADE')
    except Exception:  # noqa: BLE001 - a server that is down has nothing to clean
        pass
