"""Temporary minimal package init (replaced by the public API)."""
from __future__ import annotations

from mel import clock, stores
from mel import settings as settings_module
from mel.errors import ConfigurationError, MelError

__all__ = ["ConfigurationError", "MelError", "clock", "settings_module", "stores"]
