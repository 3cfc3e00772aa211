"""Each peer runs from its own virtualenv under ``bench/.venvs/<name>``, created and filled
from PyPI on first use (their pins clash: arq wants redis<6, others want redis>=6...)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, VENVS
from bench.engines import ENGINES

#: besides the engine: the clients the job bodies and the harness use
COMMON = ("redis", "hiredis")


def python_for(engine: str) -> Path:
    venv = ENGINES[engine][1]
    if venv is None:
        return Path(sys.executable)
    return VENVS / venv / "bin" / "python"


def ensure(engine: str) -> Path:
    """The interpreter for ``engine``; its virtualenv is built first if missing."""
    python = python_for(engine)
    if ENGINES[engine][1] is None:
        return python
    if python.exists() and (python.parent.parent / ".bench-ready").exists():
        return python
    name, specs = ENGINES[engine][1], ENGINES[engine][2]
    assert name is not None
    venv = VENVS / name
    print(f"# installing {engine} into {venv.relative_to(ROOT)} ...", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *specs, *COMMON], check=True)
    (venv / ".bench-ready").touch()
    return python


def versions(engine: str) -> str:
    """``name==version`` of the engine's packages in its interpreter."""
    # mel's worker runs on uvloop when it is installed (`mel worker --loop auto`).
    specs = ENGINES[engine][2] or ("mel-jobs", "redis", "psycopg", "uvloop")
    names = [re.split(r"[\[<>=!~]", s)[0] for s in specs]
    code = ("import importlib.metadata as m, sys\n"
            "def v(n):\n"
            "    try: return f'{n}=={m.version(n)}'\n"
            "    except m.PackageNotFoundError: return f'{n} (not installed)'\n"
            "print(' '.join(v(n) for n in sys.argv[1:]))")
    done = subprocess.run([str(python_for(engine)), "-c", code, *names],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"
