"""Engine adapters: one module per engine, each a subclass of :class:`base.Engine`.

Importing an adapter module imports its engine, so each is imported only inside the
virtual environment that has that engine (see ``ENGINES`` for which one).
"""

from __future__ import annotations

import importlib

from bench.engines.base import Engine

#: engine name -> (adapter module, virtualenv name or None for the project's own, pip specs)
ENGINES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "mel": ("bench.engines.mel_", None, ()),
    "rq": ("bench.engines.rq_", "rq", ("rq",)),
    "arq": ("bench.engines.arq_", "arq", ("arq",)),
    "saq": ("bench.engines.saq_", "saq", ("saq[hiredis,postgres]",)),
    "dramatiq": ("bench.engines.dramatiq_", "dramatiq", ("dramatiq[redis]",)),
    "celery": ("bench.engines.celery_", "celery", ("celery[redis]",)),
    "huey": ("bench.engines.huey_", "huey", ("huey",)),
    "taskiq": ("bench.engines.taskiq_", "taskiq", ("taskiq", "taskiq-redis")),
    "streaq": ("bench.engines.streaq_", "streaq", ("streaq",)),
    "pgqueuer": ("bench.engines.pgqueuer_", "pgqueuer",
                 # typer>=0.17 breaks `pgq run` 1.6 (its LogLevel arrives as a str)
                 ("pgqueuer", "asyncpg", "typer<0.17")),
    "procrastinate": ("bench.engines.procrastinate_", "procrastinate",
                      ("procrastinate[psycopg]", "psycopg-binary")),
}

#: which engines run on which store
BACKENDS: dict[str, tuple[str, ...]] = {
    "redis": ("mel", "rq", "arq", "saq", "dramatiq", "celery", "huey", "taskiq", "streaq"),
    "sqlite": ("mel", "huey"),
    "postgres": ("mel", "pgqueuer", "procrastinate", "saq"),
}


def load(name: str, backend: str) -> Engine:
    module = importlib.import_module(ENGINES[name][0])
    engine: Engine = module.Adapter(backend)
    return engine
