"""Validate a TOML table against a model dataclass with pydantic, and tell every problem.

pydantic-core checks the whole table and reports every mistake at once. Its schema for
the model is made strict (true is not 1, "3" is not a number, 4.0 is not a whole number)
except where TOML has no other way to write a value: a table for a dataclass, an array for
a tuple, a string for a path. The rules of ``rules`` run inside the same validation, so a
value of the wrong type and a value out of range in another table are told together.
Each problem is then put in the terminal's own words (``messages``), in file order.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from pydantic import TypeAdapter, ValidationError
from pydantic_core import CoreSchema, PydanticCustomError, SchemaValidator, core_schema

from terminal.config import messages
from terminal.config.rules import (
    FIELD_RULES,
    KEY_RULES,
    NO_NUL,
    NOT_A_PLACEHOLDER,
    NOT_EMPTY_PATH,
    TABLE_CHECKS,
    Problem,
    Rule,
    TableCheck,
    seconds_rule,
    where,
)

__all__ = ["validate", "in_file_order"]

_T = TypeVar("_T")
_RULE_ERROR = "config_rule"
_STRICT: dict[str, Any] = {"extra": "forbid", "strict": True, "allow_inf_nan": False}


def validate(
    cls: type[_T], data: object, *, skip: frozenset[str] = frozenset()
) -> _T | list[Problem]:
    """Return ``data`` as a ``cls``, or every problem with it (fields in ``skip`` are not keys)."""
    problems: list[Problem] = []
    if isinstance(data, Mapping) and skip.intersection(data):
        known = [f.name for f in dataclasses.fields(cast(Any, cls)) if f.name not in skip]
        problems += [((name,), messages.unknown(name, known)) for name in skip.intersection(data)]
        data = {name: value for name, value in data.items() if name not in skip}
    try:
        built = _validator(cast(type, cls)).validate_python(data)
    except ValidationError as error:
        problems += [_problem(cls, data, error) for error in error.errors(include_url=False)]
    if problems:
        return problems
    return cast(_T, built)


def in_file_order(data: object, problems: list[Problem]) -> list[Problem]:
    """``problems`` sorted as their keys come in the file; missing keys after their table's."""
    return sorted(problems, key=lambda problem: _position(data, problem[0]))


def _position(data: object, loc: tuple[str | int, ...]) -> tuple[int, ...]:
    position: list[int] = []
    for part in loc:
        if isinstance(data, Mapping):
            keys = list(data)
            position.append(keys.index(part) if part in data else len(keys))
            data = data.get(part)
        elif isinstance(data, list | tuple) and isinstance(part, int) and part < len(data):
            position.append(part)
            data = data[part]
        else:
            position.append(1 << 30)
            data = None
    return tuple(position)


# --- The schema: pydantic's for the dataclasses, loosened where TOML must, with the rules. ---


@functools.cache
def _validator(cls: type) -> SchemaValidator:
    for table in _tables(cls):
        table.__pydantic_config__ = _STRICT  # type: ignore[attr-defined]
    schema = TypeAdapter(cls).core_schema
    return SchemaValidator(_adapt(schema, None, ""))


def _tables(cls: type) -> set[type]:
    """``cls`` and every dataclass its fields hold, however deep."""
    found: set[type] = set()
    todo: list[Any] = [cls]
    while todo:
        hint = todo.pop()
        if dataclasses.is_dataclass(hint) and hint not in found:
            found.add(cast(type, hint))
            todo += get_type_hints(hint).values()
        todo += get_args(hint)
    return found


def _adapt(schema: Any, owner: type | None, name: str) -> CoreSchema:
    """Loosen ``schema`` where TOML must and add the rules of field ``name`` of ``owner``."""
    kind = schema.get("type")
    if kind == "dataclass":
        cls = schema["cls"]
        for field in schema["schema"]["fields"]:
            field["schema"] = _adapt(field["schema"], cls, field["name"])
        schema["strict"] = False  # a TOML table is a dict, not an instance
        if cls in TABLE_CHECKS:
            return _after(schema, _table_check(TABLE_CHECKS[cls]))
        return cast(CoreSchema, schema)
    if kind in ("default", "nullable"):
        schema["schema"] = _adapt(schema["schema"], owner, name)
        return cast(CoreSchema, schema)
    if kind == "lax-or-strict":  # a path: TOML writes it as a string
        schema["strict"] = False
        return _before(_before(schema, NOT_EMPTY_PATH), NO_NUL)
    if kind == "tuple":  # a TOML array is a list
        schema["strict"] = False
        schema["items_schema"] = [_adapt(s, owner, name) for s in schema["items_schema"]]
        return cast(CoreSchema, schema)
    if kind == "dict":
        schema["values_schema"] = _adapt(schema["values_schema"], owner, name)
        if (key_rule := KEY_RULES.get((owner, name))) is not None:  # type: ignore[arg-type]
            schema["keys_schema"] = _after(schema["keys_schema"], key_rule)
        return cast(CoreSchema, schema)
    if kind == "literal" and any(type(v) is int for v in schema["expected"]):
        schema = core_schema.no_info_before_validator_function(_not_a_boolean, schema)
    if kind == "str":
        schema = _after(_after(schema, NO_NUL), NOT_A_PLACEHOLDER)
    rule = FIELD_RULES.get((owner, name))  # type: ignore[arg-type]
    if kind == "float" and name.endswith("_s") and owner is not None:
        rule = seconds_rule(owner, name)
    return schema if rule is None else _after(schema, rule)


def _not_a_boolean(value: object) -> object:
    """true is not 1 in a choice of numbers (Python counts a bool as an int)."""
    if isinstance(value, bool):
        raise PydanticCustomError("literal_error", "a boolean is not one of the numbers")
    return value


def _after(schema: CoreSchema, rule: Rule) -> CoreSchema:
    return core_schema.no_info_after_validator_function(_raising(rule), schema)


def _before(schema: CoreSchema, rule: Rule) -> CoreSchema:
    return core_schema.no_info_before_validator_function(_raising(rule), schema)


def _raising(rule: Rule) -> Any:
    def check(value: object) -> object:
        if (message := rule(value)) is not None:
            raise PydanticCustomError(_RULE_ERROR, "{message}", {"message": message})
        return value

    return check


def _table_check(check: TableCheck) -> Rule:
    def rule(table: object) -> str | None:
        found = check(table)
        if found is None:
            return None
        raise PydanticCustomError(_RULE_ERROR, "{message}", {"message": found[1], "at": found[0]})

    return rule


# --- Each error of pydantic's in the terminal's words. ---


def _problem(root: type, data: object, error: Any) -> Problem:
    loc: tuple[str | int, ...] = tuple(part for part in error["loc"] if part != "[key]")
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == _RULE_ERROR and "at" in ctx:
        loc = (*loc, ctx["at"])
    place = _Place.of(root, loc)
    key = where(loc)
    if kind == _RULE_ERROR:
        return loc, ctx["message"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return loc, messages.unknown(str(loc[-1]), place.siblings)
    if kind in ("missing_argument", "missing"):
        return (
            loc,
            f"is required but missing; add {place.name} = {messages.toml_value(place.shown)}",
        )
    value = _value_at(data, loc, error.get("input"))
    if kind == "finite_number":
        return loc, f"must be a finite number, got {value}"
    if get_origin(place.hint) is Literal:
        allowed = get_args(place.hint)
        listed = ", ".join(messages.toml_value(option) for option in allowed)
        words = [option for option in allowed if isinstance(option, str)]
        hint = messages.did_you_mean(value, words) if isinstance(value, str) else ""
        return loc, f"must be one of {listed}, got {messages.got(value, key)}{hint}"
    return loc, _wrong_type(place, key, value)


def _wrong_type(place: _Place, key: str, value: object) -> str:
    tabular = any(dataclasses.is_dataclass(arg) for arg in get_args(place.hint))
    name = place.name if place.direct else ""
    fix = ""
    if name and not tabular:
        fix = f"; write {name} = {messages.toml_value(messages.generic(place.hint, place.shown))}"
    described = messages.describe(place.hint, key, name, place.shown)
    return f"expected {described}, got {messages.got(value, key)}{fix}"


@dataclasses.dataclass(frozen=True, slots=True)
class _Place:
    """What the model says about one location: its type, its field, an example, its table."""

    hint: Any
    name: str = ""  # the field's name, or "" for the whole file
    shown: object = None  # an example value
    direct: bool = True  # the location is the field itself, not an item or entry in it
    siblings: list[str] = dataclasses.field(default_factory=list)  # the keys of its table

    @classmethod
    def of(cls, root: type, loc: tuple[str | int, ...]) -> _Place:
        """Walk the model's type hints along ``loc``, as far as it goes."""
        place = _Place(root, siblings=_field_names(root))
        for part in loc:
            hint = _optional(place.hint)
            if dataclasses.is_dataclass(hint) and isinstance(part, str):
                fields = {f.name: f for f in dataclasses.fields(hint)}
                siblings = [name for name in fields if name not in ("secrets", "source")]
                if part not in fields:
                    return _Place(Any, part, siblings=siblings)
                field = fields[part]
                place = _Place(
                    _hints(cast(type, hint))[part], part, messages.example(field), True, siblings
                )
            elif get_origin(hint) is tuple and isinstance(part, int):
                inner = get_args(hint)[0]
                place = _Place(inner, place.name, messages.first(place.shown), False,
                               _field_names(inner))  # fmt: skip
            elif get_origin(hint) is dict:
                inner = get_args(hint)[1]
                place = _Place(inner, place.name, None, False, _field_names(inner))
            else:
                return place
        return place


def _optional(hint: Any) -> Any:
    if get_origin(hint) in (Union, types.UnionType):
        return next(arg for arg in get_args(hint) if arg is not type(None))
    return hint


def _field_names(hint: Any) -> list[str]:
    if not dataclasses.is_dataclass(hint):
        return []
    return [f.name for f in dataclasses.fields(hint) if f.name not in ("secrets", "source")]


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _value_at(data: object, loc: tuple[str | int, ...], fallback: object) -> object:
    """The value the file holds at ``loc`` (pydantic's input may already be converted)."""
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list | tuple) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return fallback
    return data
