"""Tests for mel.params: the typed job-parameter codec."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import socket
import typing
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType, Optional
from zoneinfo import ZoneInfo

import pytest

from mel.params import ParamsCodec, ParamsError, build_codec

UserId = NewType("UserId", int)
PARIS = ZoneInfo("Europe/Paris")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Number(enum.IntEnum):
    ONE = 1
    TWO = 2


class Level(enum.StrEnum):
    LOW = "low"
    HIGH = "high"


class Planet(enum.Enum):  # values aren't str/int, so stored by name
    MERCURY = (3.3e23, 2.44e6)
    EARTH = (5.97e24, 6.37e6)


class Perm(enum.Flag):
    R = 1
    W = 2
    X = 4


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    center: Point | None = None
    tags: dict[str, Level] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")


class Money:
    """An extension-hook class: not a dataclass, stored as [amount, currency]."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount, self.currency = amount, currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.amount, self.currency) == (
            other.amount, other.currency)

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"

    def _mel_to_json(self) -> Any:
        return [str(self.amount), self.currency]

    @classmethod
    def _mel_from_json(cls, data: Any) -> Money:
        amount, currency = data
        if not isinstance(currency, str):
            raise ValueError("currency must be a string")
        return cls(Decimal(amount), currency)


class Plain:
    pass


def codec_for(tp: Any) -> ParamsCodec:
    """The codec of a one-parameter job class whose parameter ``x`` is annotated ``tp``."""
    return build_codec(dataclasses.make_dataclass("Job1", [("x", tp)]))


def assert_json_only(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_json_only(item)
    elif isinstance(value, list):
        for item in value:
            assert_json_only(item)
    else:
        assert type(value) in (str, int, float, bool, type(None)), value


def assert_same(a: Any, b: Any) -> None:
    """Equal values of exactly the same types, all the way down."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, set | frozenset):
        assert {(type(x), x) for x in a} == {(type(y), y) for y in b}
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, datetime | time):
        assert (a, a.tzinfo, a.utcoffset()) == (b, b.tzinfo, b.utcoffset())
    elif isinstance(a, Decimal):
        assert str(a) == str(b)
    else:
        assert a == b


def roundtrip(codec: ParamsCodec, values: dict[str, Any]) -> dict[str, Any]:
    encoded = codec.encode(values)
    assert_json_only(encoded)
    return codec.decode(json.loads(json.dumps(encoded)))


ROUNDTRIP_CASES: list[tuple[Any, Any]] = [
    (str, "héllo"), (str, ""), (int, -5), (int, 10**30), (float, 1.5), (float, 2.0),
    (float, -0.0), (bool, True), (bool, False), (None, None),
    (list[int], [1, 2, 3]), (list[str], []), (tuple[int, ...], (1, 2)), (tuple[int, ...], ()),
    (tuple[int, str], (1, "a")), (tuple[()], ()), (dict[str, int], {"b": 1, "a": 2}),
    (set[int], {3, 1, 2}), (frozenset[str], frozenset({"a", "b"})),
    (set[tuple[int, str]], {(1, "a"), (2, "b")}),
    (list[dict[str, tuple[int, float]]], [{"a": (1, 2.5)}, {}]),
    (dict[str, list[frozenset[int]]], {"k": [frozenset({1, 2}), frozenset()]}),
    (int | None, None), (int | None, 3), (Optional[str], "x"), (Optional[str], None),  # noqa: UP045
    (int | str, 1), (int | str, "1"), (list[int] | str, [1]), (list[int] | str, "s"),
    (int | float, 1), (int | float, 1.0), (float | int, 1), (float | int, 1.0),
    (int | bool, True), (int | bool, 1), (bool | float | None, 0.0),
    (str | datetime, "2024-01-01T00:00:00"), (str | datetime, datetime(2024, 1, 1)),
    (str | Decimal, Decimal("1.0")), (str | Decimal, "1.0"), (str | uuid.UUID | None, None),
    (list[int] | list[str], ["a"]), (list[int] | list[str], [1]), (list[int] | list[str], []),
    (dict[str, int | float], {"a": 1, "b": 1.0}), (set[int | str], {1, "1", 2}),
    (list[datetime | None], [None, datetime(2024, 5, 6, 7, 8, 9, 10)]),
    (datetime, datetime(2024, 2, 29, 23, 59, 59)),
    (datetime, datetime(2024, 2, 29, 23, 59, 59, 123456)),
    (datetime, datetime(2024, 1, 1, tzinfo=UTC)),
    (datetime, datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    (datetime, datetime(2024, 7, 1, 9, 30, tzinfo=PARIS)),
    (datetime, datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS)),  # the second 02:30
    (date, date(2024, 2, 29)), (time, time(1, 2, 3, 4)),
    (time, time(23, 0, tzinfo=timezone(timedelta(hours=-3)))),
    (timedelta, timedelta(days=-1, microseconds=7)), (timedelta, timedelta(days=99999)),
    (uuid.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    (Decimal, Decimal("1.10")), (Decimal, Decimal("-1E+5")), (Decimal, Decimal("Infinity")),
    (Color, Color.RED), (Number, Number.TWO), (Level, Level.HIGH), (Planet, Planet.EARTH),
    (Perm, Perm.R), (Perm, Perm.R | Perm.W), (Color | Level, Level.LOW), (Color | int, 3),
    (Point, Point(1, 2.5)), (set[Point], {Point(1), Point(2, 3.0)}),
    (Shape, Shape("tri", [Point(0), Point(1, 1.0)], Point(0, 0.5), {"k": Level.LOW})),
    (Tree, Tree("root", [Tree("a"), Tree("b", [Tree("c")])])),
    (Point | Shape, Point(1)), (Point | dict[str, int], {"x": 1}),
    (Money, Money(Decimal("9.99"), "EUR")), (Money | None, None), (Money | int, 5),
    (Money | int, Money(Decimal("1"), "USD")), (list[Money], [Money(Decimal("0.5"), "GBP")]),
    (Annotated[int, "meta"], 5), (list[Annotated[str, "meta"]], ["a"]), (UserId, UserId(7)),
    (Annotated[int, "meta"] | int | None, 5), (typing.List[int], [1]),  # noqa: UP006
]


@pytest.mark.parametrize(("tp", "value"), ROUNDTRIP_CASES, ids=lambda obj: repr(obj)[:60])
def test_roundtrip_keeps_value_and_type(tp: Any, value: Any) -> None:
    codec = codec_for(tp)
    assert_same(roundtrip(codec, {"x": value}), {"x": value})


def test_roundtrip_whole_job_with_string_annotations() -> None:
    @dataclasses.dataclass
    class SendEmail:
        user_id: int
        subject: str = "Welcome"
        when: datetime | None = None
        cc: list[str] = dataclasses.field(default_factory=list)

    codec = build_codec(SendEmail)
    assert codec.field_names == ("user_id", "subject", "when", "cc")
    assert codec.required == frozenset({"user_id"})
    values = {"user_id": 3, "subject": "Hi", "when": datetime(2030, 1, 2, 3, 4, 5, 6),
              "cc": ["a@example.com"]}
    assert_same(roundtrip(codec, values), values)


def test_encodings_are_compact_and_tag_only_confusable_unions() -> None:
    assert codec_for(int | None).encode({"x": 3}) == {"x": 3}
    assert codec_for(int | None).encode({"x": None}) == {"x": None}
    assert codec_for(datetime | None).encode({"x": datetime(2024, 1, 2)}) == {
        "x": "2024-01-02T00:00:00"}
    assert codec_for(int | str).encode({"x": "a"}) == {"x": "a"}
    assert codec_for(int | float).encode({"x": 1}) == {"x": ["int", 1]}
    assert codec_for(int | float).encode({"x": 1.0}) == {"x": ["float", 1.0]}
    assert codec_for(int | bool | None).encode({"x": None}) == {"x": None}
    assert codec_for(str | datetime).encode({"x": "s"}) == {"x": ["str", "s"]}
    assert codec_for(Decimal).encode({"x": Decimal("1.10")}) == {"x": "1.10"}
    assert codec_for(timedelta).encode({"x": timedelta(seconds=1, microseconds=2)}) == {
        "x": 1_000_002}
    assert codec_for(Color).encode({"x": Color.BLUE}) == {"x": "blue"}
    assert codec_for(Planet).encode({"x": Planet.EARTH}) == {"x": "EARTH"}
    assert codec_for(Point).encode({"x": Point(1)}) == {"x": {"x": 1, "y": 0.0}}
    assert codec_for(datetime).encode({"x": datetime(2024, 7, 1, 9, tzinfo=PARIS)}) == {
        "x": "2024-07-01T09:00:00+02:00[Europe/Paris]"}


def test_sets_encode_sorted_so_equal_sets_encode_alike() -> None:
    assert codec_for(set[str]).encode({"x": {"b", "c", "a"}}) == {"x": ["a", "b", "c"]}
    encoded = codec_for(frozenset[int | str]).encode({"x": frozenset({2, "a", 1})})
    assert sorted(map(str, encoded["x"])) == ["1", "2", "a"]
    points = codec_for(set[Point])
    assert points.encode({"x": {Point(2), Point(1)}}) == points.encode({"x": {Point(1), Point(2)}})


def test_primitives_only_encode_is_a_plain_copy() -> None:
    @dataclasses.dataclass
    class Prims:
        a: int
        b: float
        c: str | None
        d: bool = False

    values = {"a": 1, "b": 2, "c": None}
    encoded = build_codec(Prims).encode(values)
    assert encoded == {"a": 1, "b": 2.0, "c": None}
    assert type(encoded["b"]) is float
    assert encoded is not values


def test_decode_leaves_out_defaults_and_copies_containers() -> None:
    codec = build_codec(Shape)
    decoded = codec.decode({"name": "n", "points": []})
    assert decoded == {"name": "n", "points": []}
    assert Shape(**decoded).tags == {}
    raw = {"name": "n", "points": [], "tags": {}}
    decoded = codec.decode(raw)
    assert decoded["points"] is not raw["points"]
    assert decoded["tags"] is not raw["tags"]


def test_private_and_init_false_fields_are_not_parameters() -> None:
    @dataclasses.dataclass
    class Job:
        a: int
        _cache: int = 0
        derived: int = dataclasses.field(init=False, default=0)

    codec = build_codec(Job)
    assert codec.field_names == ("a",)
    with pytest.raises(ParamsError, match="unknown parameter '_cache'"):
        codec.decode({"a": 1, "_cache": 2})


def test_localns_resolves_classes_defined_in_a_function() -> None:
    @dataclasses.dataclass
    class Inner:
        v: int

    @dataclasses.dataclass
    class Outer:
        inner: Inner
        many: list[Inner]

    with pytest.raises(TypeError, match="Outer: cannot resolve parameter annotations"):
        build_codec(Outer)
    codec = build_codec(Outer, localns=locals())
    values = {"inner": Inner(1), "many": [Inner(2)]}
    assert_same(roundtrip(codec, values), values)


def test_extension_hook_from_json_errors_become_params_errors() -> None:
    codec = codec_for(Money)
    with pytest.raises(ParamsError, match=r"Job1\.x: ValueError"):
        codec.decode({"x": ["1", 2]})
    with pytest.raises(ParamsError, match=r"Job1\.x: ") as info:
        codec.decode({"x": ["not a number", "EUR"]})
    assert info.value.__cause__ is not None


def test_extension_hook_must_return_its_own_class() -> None:
    class Bad:
        def _mel_to_json(self) -> Any:
            return None

        @classmethod
        def _mel_from_json(cls, data: Any) -> Any:
            return data

    codec = codec_for(Bad)
    with pytest.raises(ParamsError, match="_mel_from_json returned int"):
        codec.decode({"x": 1})
    with pytest.raises(TypeError, match="returned None"):
        codec.encode({"x": Bad()})


def test_unknown_zone_key_falls_back_to_the_fixed_offset() -> None:
    decoded = codec_for(datetime).decode({"x": "2024-07-01T09:00:00+02:00[Mars/Olympus]"})
    assert decoded["x"] == datetime(2024, 7, 1, 7, tzinfo=UTC)
    assert decoded["x"].utcoffset() == timedelta(hours=2)


# -- validation -------------------------------------------------------------------------


def test_validate_normalises_int_to_float() -> None:
    assert_same(codec_for(float).validate({"x": 3}), {"x": 3.0})
    assert_same(codec_for(list[float]).validate({"x": [1, 2.5]}), {"x": [1.0, 2.5]})
    assert_same(codec_for(float | None).validate({"x": 1}), {"x": 1.0})
    assert_same(codec_for(float | str).validate({"x": 1}), {"x": 1.0})
    assert_same(codec_for(int | float).validate({"x": 1}), {"x": 1})
    assert_same(codec_for(Point).validate({"x": Point(1, 2)}), {"x": Point(1, 2.0)})


def test_validate_hands_back_unchanged_objects() -> None:
    items = [1, 2]
    point = Point(1, 2.0)
    assert codec_for(list[int]).validate({"x": items})["x"] is items
    assert codec_for(Point).validate({"x": point})["x"] is point


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (int, "1", "Job1.x: expected int, got str"),
        (int, True, "Job1.x: expected int, got bool"),
        (int, 1.0, "Job1.x: expected int, got float"),
        (float, True, "Job1.x: expected float, got bool"),
        (bool, 1, "Job1.x: expected bool, got int"),
        (str, Level.LOW, "Job1.x: expected str, got Level"),
        (None, 0, "Job1.x: expected None, got int"),
        (tuple[int, ...], [1], r"Job1.x: expected tuple\[int, ...\], got list"),
        (tuple[int, str], (1,), r"expected tuple\[int, str\], got tuple of 1"),
        (list[str], "abc", r"Job1.x: expected list\[str\], got str"),
        (list[str], ["a", 2], r"Job1.x\[1\]: expected str, got int"),
        (dict[str, int], {1: 1}, r"Job1.x\[1\]: expected str key, got int"),
        (dict[str, list[int]], {"k": [1, "2"]}, r"Job1.x\['k'\]\[1\]: expected int, got str"),
        (set[int], [1], r"expected set\[int\], got list"),
        (frozenset[int], {1}, r"expected frozenset\[int\], got set"),
        (date, datetime(2024, 1, 1), "Job1.x: expected date, got datetime"),
        (datetime, date(2024, 1, 1), "Job1.x: expected datetime, got date"),
        (Color, "red", "Job1.x: expected Color, got str"),
        (Number, 1, "Job1.x: expected Number, got int"),
        (int | str, 1.5, r"Job1.x: expected int \| str, got float"),
        (int | None, "1", r"Job1.x: expected int, got str"),
        (Shape, Shape("s", [Point("1")]), r"Job1.x.points\[0\].x: expected int, got str"),  # type: ignore[arg-type]
        (Money, "9.99", "Job1.x: expected Money, got str"),
    ],
)
def test_validate_rejects_wrong_types(tp: Any, value: Any, message: str) -> None:
    codec = codec_for(tp)
    with pytest.raises(TypeError, match=message):
        codec.validate({"x": value})
    with pytest.raises(TypeError, match=message):
        codec.encode({"x": value})


def test_validate_missing_and_unknown_parameters() -> None:
    @dataclasses.dataclass
    class SendEmail:
        user_id: int
        subject: str = "Welcome"

    codec = build_codec(SendEmail)
    assert codec.validate({"user_id": 1}) == {"user_id": 1}
    with pytest.raises(TypeError, match="SendEmail.user_id: missing required parameter"):
        codec.validate({"subject": "x"})
    with pytest.raises(TypeError, match="SendEmail: unknown parameters 'a', 'b'"):
        codec.validate({"user_id": 1, "a": 1, "b": 2})
    with pytest.raises(TypeError, match=r"SendEmail.user_id: expected int, got str"):
        codec.validate({"user_id": "1"})


def test_encode_partial_allows_missing_parameters() -> None:
    codec = build_codec(Shape)
    assert codec.encode_partial({"center": Point(1)}) == {"center": {"x": 1, "y": 0.0}}
    assert codec.encode_partial({}) == {}
    with pytest.raises(TypeError, match="unknown parameter"):
        codec.encode_partial({"nope": 1})


# -- unsupported annotations ------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "shown"),
    [
        (object, "object"), (Any, "typing.Any"), (list, "list"), (dict, "dict"),
        (tuple, "tuple"), (set, "set"), (typing.List, "typing.List"),  # noqa: UP006
        (Plain, "Plain"), (dict[int, str], r"dict\[int, str\]"), (list[object], "object"),
        (set[list[int]], r"set\[list\[int\]\]"), (bytes, "bytes"), (Literal["a"], "Literal"),
        (int | bytes, "bytes"), (socket.socket, "socket.socket"),
    ],
)
def test_unsupported_annotations_fail_at_build(tp: Any, shown: str) -> None:
    with pytest.raises(TypeError, match=rf"Job1\.x: unsupported parameter type .*{shown}"):
        codec_for(tp)


def test_unsupported_message_names_class_field_and_type() -> None:
    @dataclasses.dataclass
    class SendEmail:
        conn: socket.socket

    with pytest.raises(TypeError) as info:
        build_codec(SendEmail)
    assert str(info.value).startswith(
        "SendEmail.conn: unsupported parameter type socket.socket; supported: str, int")


def test_unsupported_nested_dataclass_field() -> None:
    @dataclasses.dataclass
    class Inner:
        blob: bytes

    @dataclasses.dataclass
    class Outer:
        inner: list[Inner]

    with pytest.raises(TypeError, match="Outer.inner: Inner.blob: unsupported parameter type"):
        build_codec(Outer, localns=locals())


def test_nested_private_field_without_default_is_rejected() -> None:
    @dataclasses.dataclass
    class Inner:
        _secret: int

    with pytest.raises(TypeError, match="Inner._secret: a private field needs a default"):
        codec_for(Inner)


def test_build_rejects_non_dataclasses() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        build_codec(Plain)


# -- decoding untrusted data ------------------------------------------------------------


@pytest.mark.parametrize("data", [None, [], "x", 1, [["x", 1]]])
def test_decode_rejects_non_dicts(data: Any) -> None:
    with pytest.raises(ParamsError, match="Job1: expected a dict of parameters"):
        codec_for(int).decode(data)


@pytest.mark.parametrize(
    ("tp", "raw", "message"),
    [
        (int, "1", "expected int, got str"),
        (int, 1.0, "expected int, got float"),
        (int, True, "expected int, got bool"),
        (bool, 1, "expected bool, got int"),
        (float, "1.0", "expected float, got str"),
        (float, False, "expected float, got bool"),
        (str, None, "expected str, got None"),
        (list[int], {"a": 1}, "as a JSON array, got dict"),
        (list[int], [1, "2"], r"Job1.x\[1\]: expected int, got str"),
        (tuple[int, int], [1], "got list of 1"),
        (dict[str, int], [1], r"expected dict\[str, int\], got list"),
        (dict[str, date], {"d": "2024-02-30"}, r"Job1.x\['d'\]: invalid date '2024-02-30'"),
        (date, "2024-13-01", "invalid date '2024-13-01'"),
        (date, 20240101, "expected date string, got int"),
        (datetime, "yesterday", "invalid datetime 'yesterday'"),
        (datetime, "2024-01-01T00:00:00[Europe/Paris]", "invalid datetime"),
        (time, "25:00", "invalid time '25:00'"),
        (uuid.UUID, "not-a-uuid", "invalid UUID"),
        (Decimal, "abc", "invalid Decimal 'abc'"),
        (Decimal, 1.5, "expected Decimal string, got float"),
        (timedelta, "1h", "expected timedelta as int microseconds, got str"),
        (timedelta, 10**30, "OverflowError"),
        (Color, "green", "unknown Color value 'green'"),
        (Color, "RED", "unknown Color value 'RED'"),
        (Number, True, "unknown Number value True"),
        (Number, 1.0, "unknown Number value 1.0"),
        (Number, [1], r"unknown Number value \[1\]"),
        (Planet, "PLUTO", "unknown Planet value 'PLUTO'"),
        (Perm, 8, "ValueError"),
        (int | float, 1, r"expected a \[tag, value\] pair for int \| float, got 1"),
        (int | float, ["complex", 1], "unknown type tag 'complex' for int | float"),
        (int | float, ["int", 1.5], "expected int, got float"),
        (int | str, [1], r"expected int \| str, got list"),
        (set[int], [[1]], r"expected int, got list"),
        (Point, {"x": 1, "z": 2}, "Job1.x: unknown parameter 'z'"),
        (Point, {"y": 1.0}, "Job1.x.x: missing required parameter"),
        (Point, [1, 2], "expected a dict of parameters, got list"),
        (Checked, {"n": -1}, "cannot construct Checked: ValueError: n must not be negative"),
        (Tree, {"label": "a", "children": [{"label": 1}]},
         r"Job1.x.children\[0\].label: expected str, got int"),
        (Money, "9.99", "Job1.x: ValueError"),
        (Money, ["x", "EUR"], "Job1.x: InvalidOperation"),
    ],
)
def test_decode_rejects_bad_values(tp: Any, raw: Any, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        codec_for(tp).decode({"x": raw})


def test_decode_missing_and_unknown_fields() -> None:
    @dataclasses.dataclass
    class SendEmail:
        user_id: int
        subject: str = "Welcome"

    codec = build_codec(SendEmail)
    with pytest.raises(ParamsError, match="SendEmail.user_id: missing required parameter"):
        codec.decode({"subject": "x"})
    with pytest.raises(ParamsError, match="SendEmail: unknown parameter 'retries'"):
        codec.decode({"user_id": 1, "retries": 3})
    with pytest.raises(ParamsError, match="SendEmail.user_id: expected int, got str"):
        codec.decode({"user_id": "1"})
    assert issubclass(ParamsError, TypeError)


JUNK: list[Any] = [
    None, True, 0, -1, 1.5, float("nan"), "", "x", "2024-01-01", "[]", [], [None], ["int"],
    ["int", 1], ["datetime", "x"], [1, 2, 3], {}, {"x": 1}, {"": None}, [[["deep"]]],
    "2024-01-01T00:00:00+01:00[../../etc/passwd]", 10**400,
]


@dataclasses.dataclass
class Everything:
    a: int
    b: float
    c: list[tuple[int, str]]
    d: dict[str, set[Color]]
    e: datetime | None
    f: int | float | str
    g: Shape
    h: Money
    i: frozenset[Point] = frozenset()
    j: timedelta | Decimal | uuid.UUID = timedelta()
    k: Perm = Perm.R


EVERYTHING = Everything(
    a=1, b=2.0, c=[(1, "a")], d={"k": {Color.RED}}, e=datetime(2024, 1, 1, tzinfo=PARIS),
    f="f", g=Shape("s", [Point(1)], Point(2), {"t": Level.LOW}), h=Money(Decimal("1"), "EUR"),
    i=frozenset({Point(3)}), j=Decimal("2.5"), k=Perm.R | Perm.X,
)


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_decode_of_junk_raises_only_params_error(junk: Any) -> None:
    codec = build_codec(Everything)
    valid = codec.encode({n: getattr(EVERYTHING, n) for n in codec.field_names})
    assert Everything(**codec.decode(valid)) == EVERYTHING
    # The junk goes in every position, top-level and nested, of otherwise valid data.
    variants = [{**valid, name: junk} for name in codec.field_names]
    variants += [{**valid, "g": {**valid["g"], name: junk}} for name in valid["g"]]
    variants += [{**valid, "c": [junk]}, {**valid, "d": {"k": [junk]}}, {**valid, "j": junk}]
    variants += [{**valid, "j": [tag, junk]} for tag in ("timedelta", "Decimal", "UUID")]
    for data in variants:
        with contextlib.suppress(ParamsError):
            codec.decode(data)
    with pytest.raises(ParamsError):
        codec.decode(junk)


def test_decode_of_very_deep_data_raises_params_error() -> None:
    raw: dict[str, Any] = {"label": "leaf"}
    for _ in range(5000):
        raw = {"label": "n", "children": [raw]}
    with pytest.raises(ParamsError):
        codec_for(Tree).decode({"x": raw})
