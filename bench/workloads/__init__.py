"""The workloads, one module each; each ``run`` returns ``{metric: Cell}`` for one engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Params:
    n: int = 20_000
    late: int = 500
    due: int = 2_000
    backlogs: tuple[int, ...] = (0, 100_000, 1_000_000)
    w5: int = 100_000
    #: skip a backlog whose load would take longer than this (seconds, projected)
    max_load: float = 150.0
    timeout: float = 120.0
    log: Path = Path("/dev/null")
    extra: dict[str, Any] = field(default_factory=dict)


def na(reason: str) -> dict[str, Any]:
    return {"na": reason}


def val(value: float, note: str | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"value": value}
    if note:
        cell["note"] = note
    return cell
