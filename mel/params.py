"""Typed job-parameter codec.

A job's parameters are the annotated fields of its dataclass. They travel through the store as
JSON and must come back as the very same Python types, so each annotation is compiled once, in
:func:`build_codec`, into validate/encode/decode closures.

Stored data is untrusted: decoding only calls constructors chosen by the annotations (never
pickle, eval, or anything named by the data) and reports every misfit as :class:`ParamsError`.

Encoding (compact; tags only where a union needs them):

* ``str int float bool None`` as themselves; ``timedelta`` as integer microseconds.
* ``datetime date time`` as ISO 8601 strings; a datetime in a ``ZoneInfo`` zone gets the key
  appended (``2024-03-01T09:00:00+01:00[Europe/Paris]``) so it comes back in that zone.
* ``UUID`` and ``Decimal`` as strings (``Decimal("1.10")`` keeps its exponent).
* ``list tuple set frozenset`` as arrays; sets sorted, so equal sets encode identically.
* ``dict[str, X]`` and dataclasses as objects; enums by value (by name unless every value is a
  str or int); extension classes as whatever ``_mel_to_json`` returns.
* ``X | None`` as the value or ``null``. Other unions stay untagged when their members' JSON
  shapes can't be confused (``int | str``); otherwise each non-None value is a ``[tag, value]``
  pair tagged with the member's type name (``["datetime", "..."]``). Numbers (int, float, bool)
  count as one shape: not every JSON store keeps ``1.0`` apart from ``1``, or ``true``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import json
import operator
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, available_timezones

__all__ = ["SUPPORTED", "ParamsCodec", "ParamsError", "build_codec"]

_Fn = Callable[[Any], Any]
_NoneType = type(None)
_MISSING: Any = object()
_MICROSECOND = timedelta(microseconds=1)
# JSON value shapes, and the Python types json.loads gives for each.
_SHAPE_TYPES: dict[str, tuple[type, ...]] = {
    "null": (_NoneType,), "num": (int, float, bool), "str": (str,), "list": (list,),
    "dict": (dict,),
}
SUPPORTED = (
    "str, int, float, bool, None, list[X], tuple[X, ...], tuple[X, Y], dict[str, X], set[X], "
    "frozenset[X], X | Y, datetime, date, time, timedelta, UUID, Decimal, Enum subclasses, "
    "dataclasses of these, classes defining _mel_to_json/_mel_from_json"
)


class ParamsError(TypeError):
    """Stored parameters don't fit the job class's parameters; the message names the field."""


class _Bad(Exception):
    """Internal misfit; collects the path to the bad value while it unwinds."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Kept aside rather than as __cause__, which each re-raise on the way out would reset.
        self.cause = cause
        self.steps: list[str] = []  # innermost first

    def at(self, step: str) -> _Bad:
        self.steps.append(step)
        return self


def _wrap(exc: Exception) -> _Bad:
    return exc if isinstance(exc, _Bad) else _Bad(f"{type(exc).__name__}: {exc}", exc)


class _Unsupported(Exception):
    def __init__(self, tp: Any, note: str = "") -> None:
        super().__init__(tp, note)
        self.tp, self.note = tp, note


def _tn(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # e.g. an int past sys.get_int_max_str_digits()
        text = f"<{_tn(value)}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _label(tp: Any) -> str:
    if isinstance(tp, type) and not get_args(tp):
        module = "" if tp.__module__ == "builtins" else f"{tp.__module__}."
        return module + tp.__qualname__
    return repr(tp)


class _Conv:
    """Compiled handling of one annotation.

    ``fast``: exact runtime types that validate, encode and decode all pass through unchanged,
    so hot loops can skip the call. ``pytypes``: exact types a validated value may have.
    ``shapes``: JSON shapes the encoding may take, to decide whether a union needs tags.
    """

    __slots__ = ("name", "shapes", "pytypes", "fast", "hashable", "ident",
                 "validate", "encode", "decode")

    def __init__(self, name: str, shapes: Iterable[str], pytypes: Iterable[type],
                 validate: _Fn, encode: _Fn, decode: _Fn, *, fast: Iterable[type] = (),
                 hashable: bool = True) -> None:
        self.name = name
        self.shapes = frozenset(shapes)
        self.pytypes = frozenset(pytypes)
        self.fast = frozenset(fast)
        self.hashable = hashable
        self.ident = self.fast == self.pytypes  # every valid value is its own encoding
        self.validate, self.encode, self.decode = validate, encode, decode


def _identity(value: Any) -> Any:
    return value


def _checker(tp: type, name: str) -> _Fn:
    def check(value: Any) -> Any:
        # Exact type: a datetime is a date and an IntEnum an int, but neither would come back
        # as the other, and bool must not pass for int.
        if type(value) is tp:
            return value
        raise _Bad(f"expected {name}, got {_tn(value)}")

    return check


def _exact(tp: type, name: str, shape: str) -> _Conv:
    check = _checker(tp, name)
    return _Conv(name, [shape], [tp], check, _identity, check, fast=[tp])


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:  # ints are welcome in float fields; bools are not
        try:
            return float(value)
        except OverflowError:
            raise _Bad(f"int {_short(value)} is too large for a float") from None
    raise _Bad(f"expected float, got {_tn(value)}")


def _text(tp: type, to_text: _Fn, parse: _Fn) -> _Conv:
    name = tp.__name__

    def decode(raw: Any) -> Any:
        if type(raw) is not str:
            raise _Bad(f"expected {name} string, got {_tn(raw)}")
        try:
            return parse(raw)
        except (ValueError, ArithmeticError) as exc:
            raise _Bad(f"invalid {name} {_short(raw)}", exc) from None

    return _Conv(name, ["str"], [tp], _checker(tp, name), to_text, decode)


@functools.cache
def _zone_keys() -> frozenset[str]:
    # ZoneInfo(key) imports tzdata subpackages named after the key: only known keys get there.
    return frozenset(available_timezones())


def _datetime_to_text(value: datetime) -> str:
    tz = value.tzinfo
    if type(tz) is ZoneInfo and tz.key is not None:
        return f"{value.isoformat()}[{tz.key}]"
    return value.isoformat()


def _datetime_from_text(text: str) -> datetime:
    if not text.endswith("]"):
        return datetime.fromisoformat(text)
    text, _, key = text[:-1].partition("[")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("zone key on a naive datetime")
    # A zone this worker's tzdata lacks: the fixed offset still gives the same instant.
    return value.astimezone(ZoneInfo(key)) if key in _zone_keys() else value


def _timedelta_decode(raw: Any) -> Any:
    if type(raw) is not int:
        raise _Bad(f"expected timedelta as int microseconds, got {_tn(raw)}")
    return timedelta(microseconds=raw)  # OverflowError is wrapped by the caller


_NONE = _exact(_NoneType, "None", "null")
_SCALARS: dict[type, _Conv] = {
    str: _exact(str, "str", "str"),
    int: _exact(int, "int", "num"),
    bool: _exact(bool, "bool", "num"),
    float: _Conv("float", ["num"], [float], _float, _identity, _float, fast=[float]),
    datetime: _text(datetime, _datetime_to_text, _datetime_from_text),
    date: _text(date, date.isoformat, date.fromisoformat),
    time: _text(time, time.isoformat, time.fromisoformat),
    uuid.UUID: _text(uuid.UUID, str, uuid.UUID),
    Decimal: _text(Decimal, str, Decimal),
    timedelta: _Conv("timedelta", ["num"], [timedelta], _checker(timedelta, "timedelta"),
                     lambda value: value // _MICROSECOND, _timedelta_decode),
}


def _sorted_json(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:  # mixed or unorderable items: any stable order will do
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _sequence(container: type[Any], elem: _Conv) -> _Conv:
    """list[X], tuple[X, ...], set[X], frozenset[X]: all stored as JSON arrays."""
    is_set = container in (set, frozenset)
    name = f"{container.__name__}[{elem.name}{', ...' if container is tuple else ''}]"
    efast, ev, ee, ed = elem.fast, elem.validate, elem.encode, elem.decode

    def convert(items: Any, fn: _Fn) -> list[Any]:
        # A plain loop rather than re-running a failed comprehension to find the bad item:
        # re-running at every level of a nested failure would cost 2**depth.
        out: list[Any] = []
        item = None
        try:
            for item in items:
                out.append(item if type(item) in efast else fn(item))
        except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
            raise _wrap(exc).at(f"{{{_short(item)}}}" if is_set else f"[{len(out)}]") from None
        return out

    def validate(value: Any) -> Any:
        if type(value) is not container:
            raise _Bad(f"expected {name}, got {_tn(value)}")
        out = convert(value, ev)
        # Hand back the caller's own object unless an element was normalised.
        return container(out) if any(map(operator.is_not, out, value)) else value

    def encode(value: Any) -> Any:
        out = [item if type(item) in efast else ee(item) for item in value]
        return _sorted_json(out) if is_set else out

    def decode(raw: Any) -> Any:
        if type(raw) is not list:
            raise _Bad(f"expected {name} as a JSON array, got {_tn(raw)}")
        return container(convert(raw, ed))

    return _Conv(name, ["list"], [container], validate, encode, decode,
                 hashable=container is frozenset or (container is tuple and elem.hashable))


def _fixed_tuple(elems: list[_Conv]) -> _Conv:
    name = f"tuple[{', '.join(e.name for e in elems) or '()'}]"

    def convert(value: Any, what: str, kind: type[Any]) -> Any:
        if type(value) is not kind or len(value) != len(elems):
            size = f" of {len(value)}" if type(value) is kind else ""
            raise _Bad(f"expected {name}, got {_tn(value)}{size}")
        out = []
        for i, (conv, item) in enumerate(zip(elems, value, strict=True)):
            try:
                out.append(getattr(conv, what)(item))
            except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
                raise _wrap(exc).at(f"[{i}]") from None
        return tuple(out)

    def validate(value: Any) -> Any:
        out = convert(value, "validate", tuple)
        return out if any(map(operator.is_not, out, value)) else value

    def encode(value: Any) -> Any:
        return [e.encode(item) for e, item in zip(elems, value, strict=True)]

    return _Conv(name, ["list"], [tuple], validate, encode,
                 lambda raw: convert(raw, "decode", list),
                 hashable=all(e.hashable for e in elems))


def _str_dict(elem: _Conv) -> _Conv:
    name = f"dict[str, {elem.name}]"
    efast, ev, ee, ed = elem.fast, elem.validate, elem.encode, elem.decode

    def convert(value: Any, fn: _Fn) -> Any:
        if type(value) is not dict:
            raise _Bad(f"expected {name}, got {_tn(value)}")
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Bad(f"expected str key, got {_tn(key)}").at(f"[{_short(key)}]")
            try:
                out[key] = item if type(item) in efast else fn(item)
            except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
                raise _wrap(exc).at(f"[{key!r}]") from None
        return out

    def validate(value: Any) -> Any:
        out = convert(value, ev)
        return out if any(map(operator.is_not, out.values(), value.values())) else value

    def encode(value: Any) -> Any:
        return {key: item if type(item) in efast else ee(item) for key, item in value.items()}

    return _Conv(name, ["dict"], [dict], validate, encode, lambda raw: convert(raw, ed),
                 hashable=False)


def _optional(conv: _Conv) -> _Conv:
    cv, ce, cd = conv.validate, conv.encode, conv.decode
    return _Conv(f"{conv.name} | None", conv.shapes | {"null"}, conv.pytypes | {_NoneType},
                 lambda value: None if value is None else cv(value),
                 lambda value: None if value is None else ce(value),
                 lambda raw: None if raw is None else cd(raw),
                 fast=conv.fast | {_NoneType}, hashable=conv.hashable)


def _union(args: tuple[Any, ...], ctx: _Ctx) -> _Conv:
    members: list[_Conv] = []
    seen: dict[str, Any] = {}
    for arg in args:
        bare = _strip(arg)
        if bare is _NoneType:
            continue
        conv = _compile(bare, ctx)
        if conv.name in seen:
            if seen[conv.name] == bare:  # e.g. Annotated[int, ...] | int
                continue
            raise _Unsupported(arg, f"two union members are named {conv.name!r}")
        seen[conv.name] = bare
        members.append(conv)
    conv = members[0] if len(members) == 1 else _any_of(members)
    return _optional(conv) if _NoneType in args else conv


def _any_of(members: list[_Conv]) -> _Conv:
    name = " | ".join(m.name for m in members)
    tagged = any(a.shapes & b.shapes for a, b in itertools.combinations(members, 2))
    by_tag = {m.name: m for m in members}
    by_json = {tp: m for m in members for shape in m.shapes for tp in _SHAPE_TYPES[shape]}
    by_type: dict[type, list[_Conv]] = {}
    for m in members:
        for tp in m.pytypes:
            by_type.setdefault(tp, []).append(m)

    def pick(value: Any) -> tuple[_Conv, Any]:
        candidates = by_type.get(type(value), [])
        if len(candidates) == 1:  # the only member of this type: its error is the useful one
            return candidates[0], candidates[0].validate(value)
        # Exact-type members first, so 1 stays an int in `float | int`; then coercions.
        for m in candidates + [m for m in members if m not in candidates]:
            try:
                return m, m.validate(value)
            except _Bad:
                pass
        raise _Bad(f"expected {name}, got {_tn(value)}")

    def encode(value: Any) -> Any:
        m, value = pick(value)
        return [m.name, m.encode(value)] if tagged else m.encode(value)

    def decode(raw: Any) -> Any:
        if not tagged:
            m = by_json.get(type(raw))
            if m is None:
                raise _Bad(f"expected {name}, got {_tn(raw)}")
            return m.decode(raw)
        if type(raw) is not list or len(raw) != 2 or type(raw[0]) is not str:
            raise _Bad(f"expected a [tag, value] pair for {name}, got {_short(raw)}")
        m = by_tag.get(raw[0])
        if m is None:
            raise _Bad(f"unknown type tag {_short(raw[0])} for {name}")
        return m.decode(raw[1])

    def union_of(attr: str) -> frozenset[Any]:
        return frozenset().union(*(getattr(m, attr) for m in members))

    return _Conv(name, ["list"] if tagged else union_of("shapes"), union_of("pytypes"),
                 lambda value: pick(value)[1], encode, decode,
                 fast=() if tagged else union_of("fast"), hashable=all(m.hashable for m in members))


def _enum(tp: type[enum.Enum]) -> _Conv:
    name = tp.__name__
    members = list(tp)
    by_value = all(type(m.value) in (str, int) for m in members)
    # Keyed by (type, value) so that True or 1.0 never finds the member whose value is 1.
    lookup = {(type(m.value), m.value): m for m in members} if by_value else {}
    shapes = {"str" if type(m.value) is str else "num" for m in members} if by_value else set()
    is_flag, names = issubclass(tp, enum.Flag), tp.__members__

    def decode(raw: Any) -> Any:
        found: Any = None
        if by_value and type(raw) in (str, int):
            found = lookup.get((type(raw), raw))
            if found is None and is_flag and type(raw) is int:
                found = tp(raw)  # a combination of flags; ValueError is wrapped by the caller
        elif not by_value and type(raw) is str:
            found = names.get(raw)
        if found is None:
            raise _Bad(f"unknown {name} value {_short(raw)}")
        return found

    return _Conv(name, shapes or ["str"], [tp], _checker(tp, name),
                 operator.attrgetter("_value_" if by_value else "_name_"), decode)


def _hook(tp: type) -> _Conv:
    name = tp.__name__
    from_json: _Fn = tp._mel_from_json  # type: ignore[attr-defined]

    def encode(value: Any) -> Any:
        data = value._mel_to_json()
        if data is None:  # null is reserved for `X | None`
            raise TypeError(f"{name}._mel_to_json() returned None")
        return data

    def decode(raw: Any) -> Any:
        value = from_json(raw)
        if type(value) is not tp:
            raise _Bad(f"{name}._mel_from_json returned {_tn(value)}")
        return value

    return _Conv(name, ["num", "str", "list", "dict"], [tp], _checker(tp, name), encode, decode,
                 hashable=tp.__hash__ is not None)


def _dataclass(tp: type, ctx: _Ctx) -> _Conv:
    if tp in ctx.memo:  # a recursive dataclass refers to the conv that is still being built
        return ctx.memo[tp]
    name, check = tp.__name__, _checker(tp, tp.__name__)
    holder: list[ParamsCodec] = []

    def validate(value: Any) -> Any:
        check(value)
        changes = {}
        for field, fast, check_item, _ in holder[0]._checks:
            item = getattr(value, field)
            if type(item) not in fast:
                try:
                    new = check_item(item)
                except _Bad as exc:
                    raise exc.at(f".{field}") from None
                if new is not item:
                    changes[field] = new
        return dataclasses.replace(value, **changes) if changes else value

    def encode(value: Any) -> Any:
        codec = holder[0]
        return codec._encode({field: getattr(value, field) for field in codec.field_names})

    def decode(raw: Any) -> Any:
        codec = holder[0]
        kwargs = codec._walk(raw, codec._decoders)
        try:
            return tp(**kwargs)
        except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
            raise _Bad(f"cannot construct {name}: {type(exc).__name__}: {exc}", exc) from None

    conv = _Conv(name, ["dict"], [tp], validate, encode, decode, hashable=tp.__hash__ is not None)
    ctx.memo[tp] = conv
    holder.append(_build(tp, ctx, nested=True))
    return conv


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return _NoneType if tp is None else tp


def _compile(tp: Any, ctx: _Ctx) -> _Conv:
    tp = _strip(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Union or origin is types.UnionType:
        return _union(args, ctx)
    if origin is tuple and tp is not typing.Tuple:  # noqa: UP006 (bare typing.Tuple has no args)
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(tuple, _compile(args[0], ctx))
        return _fixed_tuple([_compile(arg, ctx) for arg in args])
    if origin in (list, set, frozenset) and args:
        elem = _compile(args[0], ctx)
        if origin is not list and not elem.hashable:
            raise _Unsupported(tp, f"{elem.name} is not hashable")
        return _sequence(origin, elem)
    if origin is dict and args:
        if _strip(args[0]) is not str:
            raise _Unsupported(tp, "dict keys must be str")
        return _str_dict(_compile(args[1], ctx))
    if isinstance(tp, typing.NewType):
        return _compile(tp.__supertype__, ctx)
    if tp is _NoneType:
        return _NONE
    if isinstance(tp, type) and origin is None:
        if tp in _SCALARS:
            return _SCALARS[tp]
        if callable(getattr(tp, "_mel_to_json", None)) and callable(
                getattr(tp, "_mel_from_json", None)):
            return _hook(tp)
        if issubclass(tp, enum.Enum):
            return _enum(tp)
        if dataclasses.is_dataclass(tp):
            return _dataclass(tp, ctx)
    if (origin or tp) in (list, tuple, dict, set, frozenset):
        raise _Unsupported(tp, "give the element types, e.g. list[int] or dict[str, int]")
    raise _Unsupported(tp)


class _Ctx:
    def __init__(self, localns: dict[str, Any] | None) -> None:
        self.localns = localns
        self.memo: dict[type, _Conv] = {}


class ParamsCodec:
    """Built once per class by :func:`build_codec`; encodes, decodes and validates that
    class's parameters. Immutable, so one instance can serve every thread."""

    __slots__ = ("cls", "field_names", "required", "_label", "_checks", "_loose_checks",
                 "_decoders", "_encoders", "_plain")

    def __init__(self, cls: type, fields: list[tuple[str, _Conv, bool]]) -> None:
        self.cls = cls
        self.field_names: tuple[str, ...] = tuple(name for name, _, _ in fields)
        self.required: frozenset[str] = frozenset(name for name, _, req in fields if req)
        self._label = cls.__name__
        # Flat tuples: unpacking is cheaper than attribute lookups in the per-field loops.
        self._checks = tuple((n, c.fast, c.validate, req) for n, c, req in fields)
        self._loose_checks = tuple((n, c.fast, c.validate, False) for n, c, _ in fields)
        self._decoders = tuple((n, c.fast, c.decode, req) for n, c, req in fields)
        self._encoders = tuple((n, c.fast, c.encode) for n, c, _ in fields)
        self._plain = all(conv.ident for _, conv, _ in fields)

    def __repr__(self) -> str:
        return f"<ParamsCodec {self._label}({', '.join(self.field_names)})>"

    def _message(self, exc: _Bad) -> str:
        return f"{self._label}{''.join(reversed(exc.steps))}: {exc.message}"

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """Check each value against its annotation, element by element; return a new dict of
        the values normalised (an int given for a float field becomes a float).

        Raises TypeError naming ``Class.field``, the expected and the actual type, or a missing
        required or unknown parameter.
        """
        try:
            return self._walk(values, self._checks)
        except _Bad as exc:
            raise TypeError(self._message(exc)) from None

    def encode(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate values (TypeError as for :meth:`validate`), then return a fresh dict of their
        JSON form: only dict, list, str, int, float, bool and None inside."""
        checked = self.validate(values)
        # Primitives only: the validated values already are their encoding.
        return checked if self._plain else self._encode(checked)

    def encode_partial(self, values: dict[str, Any]) -> dict[str, Any]:
        """Like :meth:`encode` for a subset of the parameters (to match stored tasks against):
        missing required parameters are fine, unknown or ill-typed ones still raise TypeError."""
        try:
            checked = self._walk(values, self._loose_checks)
        except _Bad as exc:
            raise TypeError(self._message(exc)) from None
        return checked if self._plain else self._encode(checked)

    def decode(self, data: Any) -> dict[str, Any]:
        """Inverse of :meth:`encode`. Raises ParamsError, and nothing else, for data that is not a
        dict, lacks a required parameter, has an unknown one, or has a value that doesn't fit.

        Parameters absent from data but having a default are left out of the result, so the
        dataclass default applies.
        """
        try:
            return self._walk(data, self._decoders)
        except _Bad as exc:
            raise ParamsError(self._message(exc)) from exc.cause

    def _walk(self, values: Any, steps: tuple[tuple[str, frozenset[type], _Fn, bool], ...],
              ) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise _Bad(f"expected a dict of parameters, got {_tn(values)}")
        out = {}
        for name, fast, convert, required in steps:
            value = values.get(name, _MISSING)
            if type(value) in fast:
                out[name] = value
            elif value is not _MISSING:
                try:
                    out[name] = convert(value)
                except Exception as exc:  # noqa: BLE001 - user code or untrusted data must not stop Mel
                    raise _wrap(exc).at(f".{name}") from None
            elif required:
                raise _Bad("missing required parameter").at(f".{name}")
        if len(out) != len(values):
            unknown = sorted(_short(key) for key in values if key not in self.field_names)
            raise _Bad(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        return out

    def _encode(self, values: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, fast, encode in self._encoders:
            value = values.get(name, _MISSING)
            if type(value) in fast:
                out[name] = value
            elif value is not _MISSING:
                out[name] = encode(value)
        return out


def _build(cls: type, ctx: _Ctx, *, nested: bool) -> ParamsCodec:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    try:
        hints = get_type_hints(cls, localns=ctx.localns, include_extras=True)
    except Exception as exc:
        raise TypeError(f"{cls.__name__}: cannot resolve parameter annotations ({exc}); for "
                        "a class defined inside a function pass localns=locals()") from exc
    fields: list[tuple[str, _Conv, bool]] = []
    for field in dataclasses.fields(cls):
        required = (field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING)
        if field.name.startswith("_") or not field.init:
            if nested and field.init and required:  # decode could never construct it
                raise TypeError(f"{cls.__name__}.{field.name}: a private field needs a default "
                                "to be rebuilt from stored parameters")
            continue
        annotation = hints.get(field.name, field.type)
        try:
            conv = _compile(annotation, ctx)
        except _Unsupported as exc:
            where = "" if exc.tp is _strip(annotation) else f" in {_label(annotation)}"
            note = f" ({exc.note})" if exc.note else ""
            raise TypeError(f"{cls.__name__}.{field.name}: unsupported parameter type "
                            f"{_label(exc.tp)}{where}{note}; supported: {SUPPORTED}") from None
        except TypeError as exc:  # from a nested dataclass: keep its message, prefix the path
            raise TypeError(f"{cls.__name__}.{field.name}: {exc}") from None
        fields.append((field.name, conv, required))
    return ParamsCodec(cls, fields)


def build_codec(cls: type, localns: dict[str, Any] | None = None) -> ParamsCodec:
    """Compile the parameter codec of dataclass ``cls``.

    Its parameters are its init fields whose names don't start with ``_``. Annotations are
    resolved with ``typing.get_type_hints`` (pass ``localns`` for a class defined inside a
    function). Raises TypeError naming the class, field and type of an unsupported annotation.
    """
    return _build(cls, _Ctx(localns), nested=False)
