"""The `mel` command, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MEL = str(Path(sys.executable).with_name("mel"))


def mel(*args: str, cwd: Path | None = None, timeout: float = 90
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEL, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


@pytest.mark.slow
def test_demo_runs_every_kind_of_task_and_ends_by_itself(tmp_path: Path) -> None:
    result = mel("demo", "--store", f"sqlite:///{tmp_path / 'demo.db'}", "--seconds", "6",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "summary" in out
    for kind in ("instant", "delayed", "periodic", "cron", "retry", "multi-step"):
        summary = out[out.index("summary"):]
        line = next(ln for ln in summary.splitlines() if f" {kind} " in ln)
        assert int(line.split("│")[2]) > 0, line


def test_worker_refuses_a_missing_app_module(tmp_path: Path) -> None:
    result = mel("worker", "no_such_app_module", "--store", "memory://", cwd=tmp_path)
    assert result.returncode != 0
    assert "cannot import app module 'no_such_app_module'" in result.stderr


def test_worker_refuses_a_bad_store_url(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    result = mel("worker", "app", "--store", "nosuch://x", cwd=tmp_path)
    assert result.returncode != 0 and "unknown store URL scheme" in result.stderr


def test_status_and_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert mel("migrate", "--store", url).returncode == 0
    result = mel("status", "--store", url)
    assert result.returncode == 0, result.stderr
    assert "scheduled" in result.stdout and "failed" in result.stdout


def test_worker_on_an_unmigrated_postgres_schema_says_to_migrate(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    url = "postgresql://127.0.0.1:5432/test?namespace=meltest_never_migrated"
    result = mel("worker", "app", "--store", url, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "mel migrate --store" in result.stderr


def test_migrate_creates_a_postgres_schema_idempotently() -> None:
    import uuid

    import psycopg

    ns = f"meltest_cli_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://127.0.0.1:5432/test?namespace={ns}"
    try:
        first, second = mel("migrate", "--store", url), mel("migrate", "--store", url)
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        status = mel("status", "--store", url)
        assert status.returncode == 0, status.stderr
    finally:
        with psycopg.connect("postgresql://127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')


_LOOP_APP = '''
import asyncio, os, signal
import mel

class LoopProbe(mel.Job, name="cli.LoopProbe"):
    async def run(self) -> None:
        with open(os.environ["PROBE_OUT"], "w") as out:
            out.write(type(asyncio.get_running_loop()).__module__)
        os.kill(os.getpid(), signal.SIGTERM)  # the worker finishes this task, then exits
'''


@pytest.mark.parametrize(("choice", "module"), [("auto", "uvloop"), ("uvloop", "uvloop"),
                                                ("asyncio", "asyncio.unix_events")])
def test_worker_runs_on_the_loop_chosen(tmp_path: Path, choice: str, module: str) -> None:
    (tmp_path / "app.py").write_text(_LOOP_APP)
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    enqueue = (f"import mel, app; mel.configure(store={url!r}); app.LoopProbe().run_now()")
    subprocess.run([sys.executable, "-c", enqueue], cwd=tmp_path, check=True, timeout=60)
    out = tmp_path / "loop.txt"
    result = subprocess.run([MEL, "worker", "app", "--store", url, "--loop", choice],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={**os.environ, "PROBE_OUT": str(out)})
    assert result.returncode == 0, result.stderr
    assert out.read_text() == module


def test_unknown_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    result = mel("worker", "app", "--store", "memory://", "--loop", "trio", cwd=tmp_path)
    assert result.returncode != 0 and "'trio' is not one of" in result.stderr


def test_without_uvloop_auto_falls_back_and_uvloop_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mel import runner
    from mel.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert runner._loop_factory("auto") is None
    assert runner._loop_factory("asyncio") is None
    with pytest.raises(ConfigurationError, match=r"pip install 'mel-jobs\[uvloop\]'"):
        runner._loop_factory("uvloop")
