"""Task data: the JSON a store keeps for each task, and the retry policy.

Stores treat ``data`` as an opaque string; this module alone writes and reads it. Keys are
short because a stored task should cost as few bytes as it can:

``j`` job name, ``p`` parameters (see :mod:`mel.params`), ``r`` retry backoffs in ms
(absent: the default), ``s`` the recurring schedule (absent: an instant task), ``o`` the
scheduled time of the current occurrence of a recurring task (ms).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mel.schedule import Schedule, from_json

DEFAULT_BACKOFFS: tuple[int, ...] = (2000, 4000, 8000, 16000)


def _make_encode() -> Callable[[Any], str]:
    """Compact JSON, as ``JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode``.

    ``JSONEncoder.encode`` builds CPython's C encoder anew on every call, which is half the
    cost of encoding a small task; here it is built once.
    """
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    try:
        from _json import make_encoder  # CPython's accelerator, if present
    except ImportError:  # pragma: no cover - other interpreters
        return encoder.encode
    # Circular values cannot reach here: parameters are validated as JSON trees first.
    iterencode = make_encoder(None, encoder.default, json.encoder.encode_basestring, None,
                              ":", ",", False, False, True)
    return lambda value: "".join(iterencode(value, 0))


_encode = _make_encode()

Retries = int | Sequence[float | timedelta] | None


def _doubling(retries: int) -> tuple[int, ...]:
    """``retries=N`` as backoffs: 2 s, doubling each time."""
    return tuple(2000 * 2**i for i in range(retries))


# Precomputed for the common small N (retries=0 is Mel's benchmark).
_DOUBLING = tuple(_doubling(n) for n in range(16))


def normalize_retries(retries: Retries) -> tuple[int, ...] | None:
    """Validate the ``retries`` option; return backoffs in ms (None: the default policy)."""
    if retries is None:
        return None
    if type(retries) is int and 0 <= retries < len(_DOUBLING):
        return _DOUBLING[retries]
    if isinstance(retries, bool):
        raise TypeError(f"retries must be an int, a sequence of backoffs or None, got {retries!r}")
    if isinstance(retries, int):
        if retries < 0:
            raise ValueError(f"retries must not be negative, got {retries}")
        return _doubling(retries)
    if isinstance(retries, str | bytes) or not isinstance(retries, Sequence):
        raise TypeError(f"retries must be an int, a sequence of backoffs or None, got {retries!r}")
    backoffs: list[int] = []
    for item in retries:
        if isinstance(item, timedelta):
            ms = round(item.total_seconds() * 1000)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            ms = round(item * 1000)
        else:
            raise TypeError(f"a retry backoff must be seconds or a timedelta, got {item!r}")
        if ms < 0:
            raise ValueError(f"a retry backoff must not be negative, got {item!r}")
        backoffs.append(ms)
    return tuple(backoffs)


@dataclass(frozen=True, slots=True)
class TaskData:
    """What a task is: which job, with which parameters, on which schedule."""

    job: str
    params: dict[str, Any]
    retries: tuple[int, ...] | None = None
    schedule: Schedule | None = None
    occurrence_ms: int | None = None

    @property
    def backoffs(self) -> tuple[int, ...]:
        """The retry backoffs in ms."""
        return DEFAULT_BACKOFFS if self.retries is None else self.retries

    def dumps(self) -> str:
        """Serialise to the compact JSON a store keeps."""
        return dumps(self.job, self.params, self.retries, self.schedule, self.occurrence_ms)

    def with_occurrence(self, occurrence_ms: int) -> TaskData:
        """The same task at another occurrence."""
        return TaskData(self.job, self.params, self.retries, self.schedule, occurrence_ms)


# JSON fragments that repeat from task to task, by job name and by retry policy. Bounded,
# because the worker also writes tasks whose job names come from stored data.
_CACHED = 1024
_heads: dict[str, str] = {}
_retries_json: dict[tuple[int, ...], str] = {}


def dumps(job: str, params: dict[str, Any], retries: tuple[int, ...] | None = None,
          schedule: Schedule | None = None, occurrence_ms: int | None = None) -> str:
    """The JSON of ``TaskData(job, params, retries, schedule, occurrence_ms)``, built from
    cached fragments: a bulk schedule of no-op jobs spent a third of its Python here."""
    head = _heads.get(job)
    if head is None:
        head = '{"j":' + _encode(job) + ',"p":'
        if len(_heads) < _CACHED:
            _heads[job] = head
    text = head + (_encode(params) if params else "{}")
    if retries is not None:
        tail = _retries_json.get(retries)
        if tail is None:
            tail = ',"r":' + _encode(list(retries))
            if len(_retries_json) < _CACHED:
                _retries_json[retries] = tail
        text += tail
    if schedule is not None:
        text += ',"s":' + _encode(schedule.to_json()) + ',"o":' + _encode(occurrence_ms)
    return text + "}"


def loads(text: str) -> TaskData:
    """Parse stored task data; ValueError when it is not what :meth:`TaskData.dumps` wrote."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"task data is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError("task data is not a JSON object")
    job, params = raw.get("j"), raw.get("p", {})
    if not isinstance(job, str) or not job:
        raise ValueError("task data names no job ('j')")
    if not isinstance(params, dict):
        raise ValueError("task parameters ('p') are not a JSON object")
    retries = raw.get("r")
    if retries is not None and not (
        isinstance(retries, list)
        and all(isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in retries)
    ):
        raise ValueError("task retries ('r') are not a list of non-negative milliseconds")
    schedule = None if raw.get("s") is None else from_json(raw["s"])
    occurrence = raw.get("o")
    if schedule is not None and (isinstance(occurrence, bool) or not isinstance(occurrence, int)):
        raise ValueError("a recurring task's occurrence ('o') is not an integer")
    return TaskData(
        job,
        params,
        None if retries is None else tuple(retries),
        schedule,
        occurrence if schedule is not None else None,
    )
