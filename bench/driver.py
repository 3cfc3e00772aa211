"""Runs the workloads for one engine on one store, inside that engine's virtualenv.

``python -m bench.driver ENGINE BACKEND W1,W2,... --params JSON``: prints one result line
(``BENCH-RESULT {json}``) per workload, which the orchestrator (``python -m bench``) reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import traceback
from pathlib import Path
from typing import Any

from bench import common
from bench.engines import load
from bench.workloads import (
    Params,
    na,
    w1_enqueue,
    w2_process,
    w3_lateness,
    w4_backlog,
    w5_mel,
    w6_memory,
)

WORKLOADS: dict[str, Any] = {
    "W1": w1_enqueue.run,
    "W2": w2_process.run,
    "W3": w3_lateness.run,
    "W4": w4_backlog.run,
    "W5": w5_mel.run,
    "W6": w6_memory.run,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine")
    parser.add_argument("backend")
    parser.add_argument("workloads")
    parser.add_argument("--params", default="{}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raw = json.loads(args.params)
    raw["backlogs"] = tuple(raw.get("backlogs", Params.backlogs))
    raw["log"] = Path(raw.get("log", "/dev/null"))
    params = Params(**raw)
    engine = load(args.engine, args.backend)
    try:
        for name in args.workloads.split(","):
            started = time.perf_counter()
            try:
                result = WORKLOADS[name](engine, params)
            except Exception as exc:  # noqa: BLE001 - one failure must not end the run
                traceback.print_exc()
                result = {"_error": na(f"{type(exc).__name__}: {exc}"[:200])}
            common.emit({"workload": name, "metrics": result,
                         "seconds": time.perf_counter() - started})
    finally:
        try:
            engine.cleanup()
        except Exception:  # noqa: BLE001 - cleanup is best effort
            traceback.print_exc()


if __name__ == "__main__":
    main()
