"""pytest plugin (``-p mel.testing.pytest_plugin``): a ``mel_store`` fixture.

Each test using ``mel_store`` gets a fresh :class:`~mel.stores.MemoryStore`, configured as
Mel's store for the test; the settings in force before are restored after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mel import config
from mel.stores.memory import MemoryStore


@pytest.fixture
def mel_store() -> Iterator[MemoryStore]:
    """A fresh memory store, configured as Mel's store for this test."""
    before = config.current
    store = MemoryStore()
    config.configure(store=store)
    try:
        yield store
    finally:
        config.current = before
