"""The job base class: typed parameters, callbacks, and how a class becomes a job.

Scheduling methods live in the templates of :mod:`mel.jobs`; this module holds what every
job has whatever the template.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, dataclass_transform

from mel import registry
from mel.params import ParamsCodec, build_codec

HOOKS = ("before_enqueue", "after_enqueue", "before_run", "after_run", "before_dequeue",
         "after_dequeue")


@dataclass_transform(kw_only_default=True)
class BaseJob:
    """What every job has: parameters, ``run`` and the callbacks (all no-ops by default).

    Subclasses are keyword-only dataclasses; their annotated attributes are parameters,
    validated against their annotations when the job is built. ``name=`` sets the job's
    stored name (default ``module.QualName``); ``abstract=True`` makes a base class that is
    not a job of its own.
    """

    __mel_name__: ClassVar[str]
    __mel_codec__: ClassVar[ParamsCodec]
    __mel_async_run__: ClassVar[bool]
    __mel_build__: ClassVar[Callable[..., None]]
    __mel_template__: ClassVar[bool] = True
    #: the callbacks this class overrides; the worker skips the others (they do nothing)
    __mel_hooks__: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(
        cls, *, name: str | None = None, abstract: bool = False, _template: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.__mel_template__ = _template
        if _template:
            return
        dataclasses.dataclass(kw_only=True)(cls)
        cls.__mel_codec__ = build_codec(cls)
        # The dataclass __init__ as generated: the worker builds jobs from data the codec
        # has already checked, so it skips the second validation.
        cls.__mel_build__ = cls.__init__
        if cls.__mel_codec__.field_names:  # with no parameters there is nothing to check
            cls.__init__ = _validating(cls.__init__)  # type: ignore[method-assign]
        if abstract:
            return
        if cls.run is BaseJob.run:
            raise TypeError(f"job {cls.__qualname__} must define run() (or pass abstract=True)")
        cls.__mel_async_run__ = inspect.iscoroutinefunction(cls.run)
        cls.__mel_hooks__ = frozenset(
            hook for hook in HOOKS if getattr(cls, hook) is not getattr(BaseJob, hook)
        )
        cls.__mel_name__ = name if name is not None else f"{cls.__module__}.{cls.__qualname__}"
        registry.register(cls.__mel_name__, cls)

    def run(self) -> Any:
        """The work itself: ``async def run`` runs on the worker's loop, a plain ``def run``
        in a thread pool. Raising marks this attempt failed."""
        raise NotImplementedError

    def before_enqueue(self) -> None:
        """Called at the scheduling call, before the task is written."""

    def after_enqueue(self, success: bool) -> None:
        """Called after the write (after the commit, in a transaction) with its outcome."""

    def before_run(self) -> Any:
        """Called by the worker before ``run``; may be async."""

    def after_run(self, success: bool) -> Any:
        """Called after ``run`` succeeded, or failed for good; may be async."""

    def before_dequeue(self) -> None:
        """Called before the task leaves the store (done, or moved to the failed set)."""

    def after_dequeue(self, success: bool) -> None:
        """Called after the task left the store, with whether the store applied it."""

    def _mel_params(self) -> dict[str, Any]:
        """The parameters' values by name."""
        return {f: getattr(self, f) for f in self.__mel_codec__.field_names}

    @classmethod
    def _mel_from_data(cls, data: Any) -> BaseJob:
        """Build a job from stored parameters (raises :class:`mel.params.ParamsError`)."""
        values = cls.__mel_codec__.decode(data)
        job = cls.__new__(cls)
        cls.__mel_build__(job, **values)
        return job


def _validating(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: BaseJob, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        codec = type(self).__mel_codec__
        for key, value in codec.validate(self._mel_params()).items():
            # Normalised values (an int given for a float) replace what was given.
            object.__setattr__(self, key, value)

    return __init__
