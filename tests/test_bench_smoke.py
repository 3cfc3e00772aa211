"""The benchmark suite keeps working: mel only, tiny N, every workload, every store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "mel", "--n", "200",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| workload | store | mel |" in done.stdout
    assert "calibration: raw sequential INCR" in done.stdout
    for store in ("redis", "sqlite", "postgres"):
        assert f"W2 process, body = one Redis INCR (jobs/s) | {store} |" in done.stdout
    assert "failed" not in done.stdout.split("| workload |", 1)[1].split("\n\n", 1)[0]
    assert "W5 run" in done.stdout and "W6 Redis bytes" in done.stdout
    assert out.read_text().startswith("# Benchmark results")
