"""The `mel` command, run as a real process."""

from __future__ import annotations

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
