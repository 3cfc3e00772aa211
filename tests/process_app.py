"""The app module that `mel worker` loads in the process tests.

Each run appends ``start``/``end`` lines (key, pid, wall time) to the file named by
``MEL_TEST_OUT``; one ``os.write`` of a short line on an O_APPEND file is atomic, so
processes can share it.
"""

from __future__ import annotations

import asyncio
import os
import time

import mel

OUT = os.environ.get("MEL_TEST_OUT", os.devnull)


def _line(text: str) -> None:
    fd = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{text} {os.getpid()} {time.time():.6f}\n".encode())
    finally:
        os.close(fd)


class Mark(mel.Job, name="proc.Mark"):
    """Records its start and end; sleeps in between."""

    key: str
    seconds: float = 0.0

    async def run(self) -> None:
        _line(f"start {self.key}")
        if self.seconds:
            await asyncio.sleep(self.seconds)
        _line(f"end {self.key}")
