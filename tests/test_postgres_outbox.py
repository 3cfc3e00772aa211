"""Enqueue inside the application's own PostgreSQL transaction (the transactional outbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

import mel
from mel.stores.base import Store
from tests.conftest import POSTGRES_DSN, open_store
from tests.jobs_for_tests import Callbacks, Record, events


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store("postgres", tmp_path)
    mel.configure(store=store, timezone="UTC")
    try:
        yield store
    finally:
        await store.truncate()
        await store.close()


async def test_tasks_are_stored_iff_the_apps_transaction_commits(pg: Store) -> None:
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        with conn.transaction():
            with mel.transaction(connection=conn) as tx:
                task_id = Record(label="committed").run_now(tx=tx)
            assert task_id is not None
            # written on the app's connection, not yet committed: invisible to others
            assert await pg.get(task_id) is None
        assert await pg.get(task_id) is not None

        with pytest.raises(RuntimeError), conn.transaction():
            with mel.transaction(connection=conn) as tx:
                lost = Record(label="rolled back").run_now(tx=tx)
            raise RuntimeError("the app's own work failed")
        assert lost is not None and await pg.get(lost) is None


async def test_async_twin_with_an_async_connection(pg: Store) -> None:
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        async with conn.transaction():
            async with mel.atransaction(connection=conn) as tx:
                task_id = await Callbacks(label="a").arun_now(tx=tx)
                await mel.Progress("outbox").amove(20, tx=tx)
            assert task_id is not None and await pg.get(task_id) is None
        assert await pg.get(task_id) is not None
        report = await mel.Progress.atrack("outbox")
        assert report is not None and report.value == 20
        assert ("after_enqueue", "a", True) in events

        with pytest.raises(RuntimeError):
            async with conn.transaction():
                async with mel.atransaction(connection=conn) as tx:
                    lost = await Record(label="x").arun_now(tx=tx)
                raise RuntimeError("rollback")
        assert lost is not None and await pg.get(lost) is None


def test_other_stores_refuse_a_connection(memory: Store) -> None:
    refused = pytest.raises(mel.TransactionError, match="cannot write inside your own")
    with refused, mel.transaction(connection=object()) as tx:
        Record(label="x").run_now(tx=tx)
