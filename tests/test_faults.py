"""Store outages: a worker survives its server going away and coming back, losing nothing.

Each test starts its own server (Redis with an append-only file; a PostgreSQL cluster
made with initdb in a temporary folder), on its own port, and restarts only that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

import mel
from mel.stores.base import Store
from tests.process_app import Mark
from tests.test_processes import Workers

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not happen within {timeout}s")


class RedisServer:
    """A redis-server of the test's own, persisting every write (appendfsync always)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, "redis start")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1
                                                                   ) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class PostgresServer:
    """A PostgreSQL cluster of the test's own, made with initdb in a temporary folder."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mel-pg-"))
        self.data = self.folder / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found and not shutil.which("initdb"):
            pytest.fail("PostgreSQL's initdb is not installed")
        self.bindir = Path(found[-1]).parent if found else Path(shutil.which("initdb") or "").parent
        # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off", "start")

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(params=["redis", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer |
                                                                         PostgresServer]:
    srv: RedisServer | PostgresServer = (
        RedisServer(tmp_path) if request.param == "redis" else PostgresServer()
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def outage_store(server: RedisServer | PostgresServer) -> AsyncIterator[Store]:
    store = mel.stores.open_store(server.url)
    await store.open()
    await store.migrate()
    mel.configure(store=store, timezone="UTC")
    try:
        yield store
    finally:
        with contextlib.suppress(mel.StoreError):
            await store.close()


async def test_worker_survives_the_store_restarting(
    server: RedisServer | PostgresServer, outage_store: Store, tmp_path: Path
) -> None:
    workers = Workers(server.url, tmp_path / f"out-{uuid.uuid4().hex[:6]}.txt")
    try:
        proc = workers.start(lease=10)
        keys = [f"k{i}" for i in range(10)]
        for key in keys:
            await Mark(key=key, seconds=1.0).arun_now()
        await workers.wait_for(lambda: any(ln[0] == "start" for ln in workers.lines()))

        server.crash()  # running tasks finish while the store is gone
        await asyncio.sleep(2)
        server.start()

        def ended() -> Counter[str]:
            return Counter(ln[1] for ln in workers.lines() if ln[0] == "end")

        await workers.wait_for(lambda: set(ended()) == set(keys), timeout=60)
        await asyncio.sleep(0.5)
        assert set(ended().values()) == {1}, ended()  # each ran once: nothing lost or repeated
        assert proc.poll() is None, "the worker died with its store"

        for _ in range(100):  # finishes that failed during the outage are written after it
            with contextlib.suppress(mel.StoreError):  # our own pooled connections died too
                if await outage_store.next_due_ms() is None:
                    break
            await asyncio.sleep(0.1)
        assert await outage_store.next_due_ms() is None

        await Mark(key="after").arun_now()  # and it carries on
        await workers.wait_for(lambda: "after" in ended(), timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        workers.stop_all()
