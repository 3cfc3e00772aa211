"""Defining jobs: parameters, names, templates."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest

import mel
from mel import registry
from tests.jobs_for_tests import AtAndEvery, OnlyAt, Record, SyncRecord


def test_parameters_are_keyword_only_and_validated() -> None:
    job = Record(label="a", n=2)
    assert (job.label, job.n) == ("a", 2)
    with pytest.raises(TypeError, match=r"label"):
        Record(label=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Record()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Record("a")  # type: ignore[misc]


def test_names_default_to_module_and_qualname() -> None:
    assert Record.__mel_name__ == "tests.jobs_for_tests.Record"
    assert registry.lookup("tests.jobs_for_tests.Record") is Record


def test_explicit_name_and_duplicates() -> None:
    class Named(mel.Job, name="tests.named-job"):
        async def run(self) -> None: ...

    assert Named.__mel_name__ == "tests.named-job"
    with pytest.raises(mel.ConfigurationError, match="tests.named-job"):

        class Other(mel.Job, name="tests.named-job"):
            async def run(self) -> None: ...

    registry.unregister("tests.named-job")


def test_unsupported_parameter_type_is_refused_at_class_definition() -> None:
    with pytest.raises(TypeError, match="sock"):

        class Bad(mel.Job):
            sock: socket.socket

            async def run(self) -> None: ...


def test_private_attributes_are_not_parameters() -> None:
    class WithPrivate(mel.Job):
        label: str
        _cache: dict[str, int] | None = None

        async def run(self) -> None: ...

    assert WithPrivate.__mel_codec__.field_names == ("label",)
    registry.unregister(WithPrivate.__mel_name__)


def test_run_is_required_unless_abstract() -> None:
    with pytest.raises(TypeError, match="run"):

        class NoRun(mel.Job):
            x: int

    class Base(mel.Job, abstract=True):
        shared: int = 1

    class Concrete(Base):
        extra: str = "x"

        def run(self) -> None: ...

    assert Concrete(shared=2).shared == 2
    assert registry.lookup(Concrete.__mel_name__) is Concrete
    registry.unregister(Concrete.__mel_name__)


def test_async_and_sync_runs_are_told_apart() -> None:
    assert Record.__mel_async_run__ is True
    assert SyncRecord.__mel_async_run__ is False


def test_templates_lack_the_other_methods() -> None:
    job = OnlyAt()
    assert hasattr(job, "run_at") and hasattr(job, "arun_at")
    for missing in ("run_now", "run_in", "run_every", "run_on", "arun_now"):
        assert not hasattr(job, missing)
    both = AtAndEvery()
    assert hasattr(both, "run_at") and hasattr(both, "run_every")
    assert not hasattr(both, "run_on")
    assert not hasattr(mel.jobs.Recurring, "run_now")
    assert hasattr(mel.jobs.Instant, "run_in") and not hasattr(mel.jobs.Instant, "run_every")
    assert all(hasattr(mel.Job, m) for m in ("run_now", "run_in", "run_at", "run_every",
                                              "run_on"))


def test_templates_are_not_jobs() -> None:
    assert registry.lookup("mel.jobs.Job") is None
    assert registry.lookup("mel.jobs.At") is None


def test_float_parameter_accepts_int() -> None:
    class F(mel.Job):
        x: float
        when: datetime | None = None

        async def run(self) -> None: ...

    assert isinstance(F(x=1).x, float)
    registry.unregister(F.__mel_name__)
