"""Every error Mel raises on purpose derives from :class:`MelError`."""

from __future__ import annotations


class MelError(Exception):
    """Base class of every error Mel raises on purpose."""


class ConfigurationError(MelError):
    """Mel is configured wrongly, or not at all, for what was asked."""


class StoreError(MelError):
    """The store could not do what was asked (connection lost, bad schema, ...)."""


class SchemaError(StoreError):
    """The store's schema is missing or older than this version of Mel expects."""


class TransactionError(MelError):
    """A transaction was used wrongly (after it ended, or with another store)."""
