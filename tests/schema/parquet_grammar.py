"""A strict parser of parquet-mr's message-type text, as the old Hindsight output used it.

Grammar (whitespace-separated tokens)::

    message    := "message" NAME "{" field* "}"
    field      := REPETITION ( primitive | group )
    primitive  := PRIMITIVE NAME [ "(" ANNOTATION ")" ] ";"
    group      := "group" NAME [ "(" ANNOTATION ")" ] "{" field* "}"

Besides the grammar it checks the MAP and LIST shapes::

    <rep> group m (MAP) { repeated group key_value { required binary key (UTF8); <rep> T value; } }
    <rep> group l (LIST) { repeated group list { <rep> T element; } }

and that UTF8 annotates only binary columns. Errors raise ``ParquetSyntaxError`` with a position.
"""

from __future__ import annotations

import dataclasses
import re

REPETITIONS = frozenset({"required", "optional", "repeated"})
PRIMITIVES = frozenset(
    {"boolean", "int32", "int64", "int96", "float", "double", "binary", "fixed_len_byte_array"}
)
ANNOTATIONS = frozenset(
    {"UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DATE", "TIMESTAMP_MILLIS", "JSON"}
)
_TOKEN = re.compile(r"\s*(?:([{}();])|([^\s{}();]+))")


class ParquetSyntaxError(ValueError):
    """The text does not follow the grammar."""


@dataclasses.dataclass
class Field:
    """One field: a primitive column (``primitive`` set) or a group (``children``)."""

    repetition: str
    name: str
    primitive: str | None = None
    annotation: str | None = None
    children: list[Field] = dataclasses.field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.primitive is None

    def child(self, name: str) -> Field:
        for field in self.children:
            if field.name == name:
                return field
        raise KeyError(name)

    def shape(self) -> tuple[object, ...]:
        """A comparable structure: repetition, type, annotation and children's shapes."""
        return (
            self.repetition,
            self.name,
            self.primitive or "group",
            self.annotation,
            tuple(c.shape() for c in self.children),
        )


@dataclasses.dataclass
class Message:
    """The parsed ``message``."""

    name: str
    fields: list[Field]

    def field(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)


def _tokens(text: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        token = match.group(1) or match.group(2)
        if token is None:
            break
        out.append((token, match.start(1) if match.group(1) else match.start(2)))
        pos = match.end()
    if text[pos:].strip():
        raise ParquetSyntaxError(f"unexpected text at {pos}")
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        if self.index >= len(self.tokens):
            raise ParquetSyntaxError(f"unexpected end of text, expected {expected or 'a token'}")
        token, pos = self.tokens[self.index]
        if expected is not None and token != expected:
            raise ParquetSyntaxError(f"expected {expected!r} at {pos}, got {token!r}")
        self.index += 1
        return token

    def name(self) -> str:
        token = self.take()
        if token in "{}();":
            raise ParquetSyntaxError(f"expected a name, got {token!r}")
        return token

    def annotation(self) -> str | None:
        if self.peek() != "(":
            return None
        self.take("(")
        value = self.take()
        if value not in ANNOTATIONS:
            raise ParquetSyntaxError(f"unknown annotation {value!r}")
        self.take(")")
        return value

    def message(self) -> Message:
        self.take("message")
        name = self.name()
        fields = self.body()
        if self.peek() is not None:
            raise ParquetSyntaxError("text after the message's closing brace")
        return Message(name, fields)

    def body(self) -> list[Field]:
        self.take("{")
        fields = []
        while self.peek() != "}":
            fields.append(self.field())
        self.take("}")
        return fields

    def field(self) -> Field:
        repetition = self.take()
        if repetition not in REPETITIONS:
            raise ParquetSyntaxError(f"expected required/optional/repeated, got {repetition!r}")
        kind = self.take()
        if kind == "group":
            name = self.name()
            annotation = self.annotation()
            field = Field(repetition, name, None, annotation, self.body())
            if not field.children:
                raise ParquetSyntaxError(f"group {name!r} has no fields")
            _check_group(field)
            return field
        if kind not in PRIMITIVES:
            raise ParquetSyntaxError(f"unknown primitive type {kind!r}")
        name = self.name()
        annotation = self.annotation()
        if annotation in {"UTF8", "ENUM", "JSON"} and kind != "binary":
            raise ParquetSyntaxError(f"{name!r}: {annotation} annotates binary only, not {kind}")
        if annotation in {"MAP", "LIST", "MAP_KEY_VALUE"}:
            raise ParquetSyntaxError(f"{name!r}: {annotation} annotates groups only")
        self.take(";")
        return Field(repetition, name, kind, annotation)


def _check_group(field: Field) -> None:
    if field.annotation == "MAP":
        if len(field.children) != 1:
            raise ParquetSyntaxError(f"MAP {field.name!r} must hold one repeated group")
        kv = field.children[0]
        if kv.repetition != "repeated" or not kv.is_group or len(kv.children) != 2:
            raise ParquetSyntaxError(f"MAP {field.name!r}: key_value must be a repeated group of 2")
        key, value = kv.children
        if (key.repetition, key.primitive, key.name) != ("required", "binary", "key"):
            raise ParquetSyntaxError(
                f"MAP {field.name!r}: first field must be 'required binary key'"
            )
        if value.name != "value" or value.repetition == "repeated":
            raise ParquetSyntaxError(
                f"MAP {field.name!r}: second field must be a non-repeated value"
            )
    elif field.annotation == "LIST":
        if len(field.children) != 1:
            raise ParquetSyntaxError(f"LIST {field.name!r} must hold one repeated group")
        wrapper = field.children[0]
        if wrapper.repetition != "repeated" or not wrapper.is_group or len(wrapper.children) != 1:
            raise ParquetSyntaxError(f"LIST {field.name!r}: 'repeated group list' of one element")
        if wrapper.children[0].repetition == "repeated":
            raise ParquetSyntaxError(f"LIST {field.name!r}: the element must not be repeated")


def parse(text: str) -> Message:
    """Parse one message-type text; raises :class:`ParquetSyntaxError`."""
    return _Parser(text).message()
