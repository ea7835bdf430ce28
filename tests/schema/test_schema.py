"""Schema generation: the dialect rules, property tests over many field types, unsupported types."""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import json
import uuid
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NaiveDatetime,
    PlainValidator,
    computed_field,
    field_serializer,
    model_serializer,
)

import pingsdk
from pingsdk.schema._generator import DATE_PATTERN, UUID_PATTERN, model_schema

DRAFTS = ["draft-04", "draft-06"]
METASCHEMA = {"draft-04": jsonschema.Draft4Validator, "draft-06": jsonschema.Draft6Validator}
REG = pingsdk.PingRegistry()  # the module's own classes; never the default registry


class Color(str, enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Inner(BaseModel):
    """A nested object."""

    name: str = Field(max_length=10, description="A short name.")
    size: int = Field(ge=0, description="A size.")


class Outer(BaseModel):
    inner: Inner
    items: list[Inner] = Field(default_factory=list)
    ratio: float | None = Field(default=None, allow_inf_nan=False)


# -- the ping classes of the property tests ------------------------------------------------


class Scalars(pingsdk.Ping, namespace="prop", doctype="scalars", version=1, registry=REG):
    """Plain and constrained scalars."""

    s: str
    i: int
    f: float
    b: bool
    short: str = Field(min_length=1, max_length=5, pattern=r"^[a-z]+$")
    pct: int = Field(gt=0, lt=100)
    unit: float = Field(ge=0, le=1)
    open_range: float = Field(gt=-1.5, lt=2.5)
    both: int = Field(ge=3, gt=2)
    fives: int = Field(multiple_of=5)


class Optionals(pingsdk.Ping, namespace="prop", doctype="optionals", version=1, registry=REG):
    os: str | None
    oi: int | None = None
    of: float | None = Field(default=None, ge=0)
    oe: Color | None = None
    ol: Literal["a", "b"] | None = None
    om: Inner | None = None
    either: int | str
    od: AwareDatetime | None = None


class Choices(pingsdk.Ping, namespace="prop", doctype="choices", version=1, registry=REG):
    one: Literal["x"]
    nums: Literal[1, 2, 3]
    flag: Literal[True]
    color: Color
    level: Level
    default_lit: Literal["v1"] = "v1"


class Specials(pingsdk.Ping, namespace="prop", doctype="specials", version=1, registry=REG):
    u: uuid.UUID
    dt: AwareDatetime
    d: datetime.date
    uu: list[uuid.UUID] = Field(default_factory=list)


class Containers(pingsdk.Ping, namespace="prop", doctype="containers", version=1, registry=REG):
    ints: list[int]
    inners: list[Inner]
    pair: tuple[int, str, bool]
    many: tuple[str, ...]
    counts: dict[str, int]
    by_name: dict[str, Inner]
    outer: Outer
    bounded: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=3)
    tags: set[str] = Field(default_factory=set)


class Shaped(pingsdk.Ping, namespace="prop", doctype="shaped", version=1, registry=REG):
    camel: int = Field(alias="camelCase")
    hidden: str = Field(default="x", exclude=True)
    nested_default: Inner = Inner(name="n", size=1)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def doubled(self) -> int:
        return self.camel * 2

    @field_serializer("nested_default")
    def _ser(self, value: Inner) -> dict[str, int]:
        return {"size": value.size}


CLASSES = [Scalars, Optionals, Choices, Specials, Containers, Shaped]

TZ = st.sampled_from(
    [
        datetime.timezone.utc,
        datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
        datetime.timezone(datetime.timedelta(hours=-8)),
    ]
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
# Payload integers are 64-bit (larger ones are refused at submit: test_ping_invariant.py).
INTS = st.integers(-(2**63), 2**63 - 1)
INNER = st.builds(Inner, name=st.text(max_size=10), size=st.integers(0, 2**63 - 1))

STRATEGIES: dict[type[pingsdk.Ping], dict[str, st.SearchStrategy[Any]]] = {
    Scalars: {
        "s": st.text(),
        "i": INTS,
        "f": FLOATS,
        "b": st.booleans(),
        "short": st.from_regex(r"^[a-z]{1,5}$", fullmatch=True),
        "pct": st.integers(1, 99),
        "unit": st.floats(0, 1),
        "open_range": st.floats(-1.5, 2.5, exclude_min=True, exclude_max=True),
        "both": st.integers(3, 2**63 - 1),
        "fives": st.integers(-(2**63 // 5), (2**63 - 1) // 5).map(lambda n: n * 5),
    },
    Optionals: {
        "os": st.none() | st.text(),
        "oi": st.none() | INTS,
        "of": st.none() | st.floats(min_value=0, allow_infinity=False),
        "oe": st.none() | st.sampled_from(Color),
        "ol": st.none() | st.sampled_from(["a", "b"]),
        "om": st.none() | INNER,
        "either": INTS | st.text(),
        "od": st.none() | st.datetimes(timezones=TZ),
    },
    Choices: {
        "one": st.just("x"),
        "nums": st.sampled_from([1, 2, 3]),
        "flag": st.just(True),
        "color": st.sampled_from(Color),
        "level": st.sampled_from(Level),
        "default_lit": st.just("v1"),
    },
    Specials: {
        "u": st.uuids(),
        "dt": st.datetimes(timezones=TZ),
        "d": st.dates(),
        "uu": st.lists(st.uuids(), max_size=3),
    },
    Containers: {
        "ints": st.lists(INTS),
        "inners": st.lists(INNER, max_size=3),
        "pair": st.tuples(INTS, st.text(), st.booleans()),
        "many": st.lists(st.text(), max_size=4).map(tuple),
        "counts": st.dictionaries(st.text(), INTS),
        "by_name": st.dictionaries(st.text(), INNER, max_size=3),
        "outer": st.builds(
            Outer,
            inner=INNER,
            items=st.lists(INNER, max_size=2),
            ratio=st.none() | FLOATS,
        ),
        "bounded": st.lists(st.integers(0, 2**63 - 1), max_size=3),
        "tags": st.sets(st.text(), max_size=3),
    },
    Shaped: {"camelCase": st.integers(-(2**62), 2**62 - 1), "nested_default": INNER},
}


@functools.cache
def exported(cls: type[pingsdk.Ping], draft: str) -> dict[str, Any]:
    return pingsdk.schema.export_schema(cls, draft=draft)


def walk(node: Any) -> list[Any]:
    """Every dict and list inside a JSON value."""
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


@pytest.mark.parametrize("draft", DRAFTS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_schema_passes_metaschema(cls: type[pingsdk.Ping], draft: str) -> None:
    schema = exported(cls, draft)
    METASCHEMA[draft].check_schema(schema)
    assert schema["$schema"] == pingsdk.schema._generator.DRAFTS[draft]
    dumped = json.dumps(schema)
    for forbidden in ('"$ref"', '"$defs"', '"definitions"', '"prefixItems"', '"anyOf"', '"title"'):
        assert forbidden not in dumped, forbidden
    if draft == "draft-04":
        assert '"const"' not in dumped
        for node in walk(schema):
            if isinstance(node, dict):
                for key in ("exclusiveMinimum", "exclusiveMaximum"):
                    assert isinstance(node.get(key, True), bool), node


@pytest.mark.parametrize("draft", DRAFTS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_payload_validates(cls: type[pingsdk.Ping], draft: str, data: st.DataObject) -> None:
    values = data.draw(st.fixed_dictionaries(STRATEGIES[cls]))
    instance = cls.model_validate(values)
    payload = json.loads(instance.to_json_bytes())
    assert payload == instance.to_payload()
    schema = exported(cls, draft)
    assert pingsdk.schema.validate_payload(schema, payload, format_check=True) == []
    # The repository's tests assert no formats; the payload must pass there too.
    METASCHEMA[draft](schema).validate(payload)


# -- the dialect, rule by rule ----------------------------------------------------------------


def props(cls: type[pingsdk.Ping], draft: str = "draft-04") -> dict[str, Any]:
    return exported(cls, draft)["properties"]  # type: ignore[no-any-return]


def test_optional_is_a_type_union_with_null_in_enum() -> None:
    p = props(Optionals)
    assert p["os"] == {"type": ["string", "null"]}
    assert p["oe"] == {
        "default": None,
        "description": "A colour.",
        "enum": ["red", "green", None],
        "type": ["string", "null"],
    }
    assert p["ol"]["enum"] == ["a", "b", None]
    assert p["om"]["type"] == ["object", "null"]
    assert p["om"]["additionalProperties"] is False
    assert p["either"] == {"type": ["integer", "string"]}
    assert p["od"] == {"default": None, "format": "date-time", "type": ["string", "null"]}


def test_required_is_exactly_fields_without_defaults() -> None:
    assert exported(Optionals, "draft-04")["required"] == ["os", "either"]
    # Computed fields are always sent, so they are required too.
    assert exported(Shaped, "draft-04")["required"] == ["camelCase", "doubled"]


def test_literals_and_enums_use_enum() -> None:
    p = props(Choices)
    assert p["one"] == {"enum": ["x"], "type": "string"}
    assert p["nums"] == {"enum": [1, 2, 3], "type": "integer"}
    assert p["flag"] == {"enum": [True], "type": "boolean"}
    assert p["color"] == {"description": "A colour.", "enum": ["red", "green"], "type": "string"}
    assert p["level"] == {"enum": [1, 2], "type": "integer"}
    assert p["default_lit"] == {"default": "v1", "enum": ["v1"], "type": "string"}


def test_uuid_date_datetime() -> None:
    p = props(Specials)
    assert p["u"] == {"pattern": UUID_PATTERN, "type": "string"}
    assert p["dt"] == {"format": "date-time", "type": "string"}
    assert p["d"] == {"format": "date", "pattern": DATE_PATTERN, "type": "string"}
    assert p["uu"]["items"] == {"pattern": UUID_PATTERN, "type": "string"}


def test_draft04_bounds_are_booleans_draft06_numbers() -> None:
    p4, p6 = props(Scalars, "draft-04"), props(Scalars, "draft-06")
    assert p4["pct"] == {
        "exclusiveMaximum": True,
        "exclusiveMinimum": True,
        "maximum": 100,
        "minimum": 0,
        "type": "integer",
    }
    assert p6["pct"] == {"exclusiveMaximum": 100, "exclusiveMinimum": 0, "type": "integer"}
    assert p4["unit"] == {"maximum": 1, "minimum": 0, "type": "number"}
    # ge=3 and gt=2 together: the inclusive bound is the stricter one and stays alone.
    assert p4["both"] == {"minimum": 3, "type": "integer"}
    assert p4["fives"] == {"multipleOf": 5, "type": "integer"}
    assert p4["short"] == {"maxLength": 5, "minLength": 1, "pattern": "^[a-z]+$", "type": "string"}


def test_tuples_maps_lists_nested() -> None:
    p = props(Containers)
    assert p["pair"] == {
        "items": [{"type": "integer"}, {"type": "string"}, {"type": "boolean"}],
        "maxItems": 3,
        "minItems": 3,
        "type": "array",
    }
    assert p["many"] == {"items": {"type": "string"}, "type": "array"}
    assert p["counts"] == {"additionalProperties": {"type": "integer"}, "type": "object"}
    inner = {
        "additionalProperties": False,
        "description": "A nested object.",
        "properties": {
            "name": {"description": "A short name.", "maxLength": 10, "type": "string"},
            "size": {"description": "A size.", "minimum": 0, "type": "integer"},
        },
        "required": ["name", "size"],
        "type": "object",
    }
    assert p["by_name"] == {"additionalProperties": inner, "type": "object"}
    assert p["inners"] == {"items": inner, "type": "array"}
    assert p["outer"]["properties"]["inner"] == inner
    assert p["bounded"] == {
        "items": {"minimum": 0, "type": "integer"},
        "maxItems": 3,
        "type": "array",
    }
    assert p["tags"] == {
        "items": {"type": "string"},
        "type": "array",
        "uniqueItems": True,
    }


def test_serialization_shape() -> None:
    p = props(Shaped)
    assert set(p) == {"camelCase", "nested_default", "doubled"}  # alias, no excluded field
    assert p["doubled"] == {"type": "integer"}
    assert p["nested_default"]["additionalProperties"] == {"type": "integer"}


def test_root_description_and_closed_root() -> None:
    schema = exported(Scalars, "draft-04")
    assert schema["description"] == "Plain and constrained scalars."
    assert schema["additionalProperties"] is False
    assert "description" not in exported(Choices, "draft-04")


def test_field_description_beats_model_docstring(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="a", doctype="d", version=1, registry=registry):
        inner: Inner = Field(description="Where it happened.")

    assert (
        pingsdk.schema.export_schema(P)["properties"]["inner"]["description"]
        == "Where it happened."
    )


def test_additional_properties_open_only_when_declared(registry: pingsdk.PingRegistry) -> None:
    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int

    class P(
        pingsdk.Ping,
        namespace="a",
        doctype="open",
        version=1,
        registry=registry,
        additional_properties=True,
    ):
        model_config = ConfigDict(extra="allow")
        loose: Loose

    schema = pingsdk.schema.export_schema(P)
    assert schema["additionalProperties"] is True
    assert schema["properties"]["loose"]["additionalProperties"] is True
    payload = P.model_validate({"loose": {"a": 1, "b": 2}, "c": 3}).to_payload()
    assert payload == {"loose": {"a": 1, "b": 2}, "c": 3}
    assert pingsdk.schema.validate_payload(schema, payload) == []


def test_key_order_is_sorted_and_stable() -> None:
    first = pingsdk.schema.export_schema(Containers)
    again = pingsdk.schema.export_schema(Containers)
    assert pingsdk.schema.render_schema(first) == pingsdk.schema.render_schema(again)
    for node in walk(first):
        if isinstance(node, dict):
            assert list(node) == sorted(node)


def test_unknown_draft() -> None:
    with pytest.raises(pingsdk.schema.SchemaExportError, match="unknown draft 'draft-07'"):
        pingsdk.schema.export_schema(Scalars, draft="draft-07")


def test_abstract_ping_cannot_be_exported() -> None:
    class Base(pingsdk.Ping, namespace="a"):
        pass

    with pytest.raises(pingsdk.PingDefinitionError, match="abstract ping base"):
        pingsdk.schema.export_schema(Base)


# -- unsupported types: an error naming the class and the dotted field path ---------------------


class Opaque:
    pass


class Node(BaseModel):
    children: list[Node] = Field(default_factory=list)


class WithBytes(BaseModel):
    blob: bytes


class NanFloats(BaseModel):
    x: float


def _plain(value: object) -> object:
    return value


UNSUPPORTED: list[tuple[str, Any, str, str]] = [
    ("bytes", bytes, "data", "bytes have no JSON type"),
    ("optional bytes", bytes | None, "data", "bytes have no JSON type"),
    ("Any", Any, "data", "Any (or object, or an unparametrized list/dict)"),
    ("object", object, "data", "Any (or object"),
    ("bare list", list, "data", "Any (or object"),
    ("dict of Any", dict[str, Any], "data", "Any (or object"),
    ("arbitrary class", Opaque, "data", "arbitrary class Opaque is not a JSON type"),
    ("naive datetime", datetime.datetime, "data", "may be naive"),
    ("NaiveDatetime", NaiveDatetime, "data", "a naive datetime is sent without a UTC offset"),
    ("Decimal", decimal.Decimal, "data", "Decimal is sent as a JSON string"),
    ("time", datetime.time, "data", "a time of day has no draft-04 format"),
    ("timedelta", datetime.timedelta, "data", "a timedelta has no JSON type"),
    ("nested bytes", list[WithBytes], "data.blob", "bytes have no JSON type"),
    ("nested nan float", NanFloats, "data.x", "float allows NaN/Infinity"),
    ("recursive model", Node, "data.children", "model Node contains itself"),
    (
        "plain validator",
        Annotated[int, PlainValidator(_plain)],
        "data",
        "a PlainValidator accepts anything",
    ),
]


@pytest.mark.parametrize(
    ("annotation", "path", "reason"),
    [u[1:] for u in UNSUPPORTED],
    ids=[u[0] for u in UNSUPPORTED],
)
def test_unsupported_types_refused_at_definition(
    registry: pingsdk.PingRegistry, annotation: Any, path: str, reason: str
) -> None:
    body = {
        "__module__": __name__,
        "__qualname__": "Unsupported",
        "__annotations__": {"data": annotation},
        "model_config": ConfigDict(arbitrary_types_allowed=True),
    }
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        type(
            "Unsupported",
            (pingsdk.Ping,),
            dict(body),
            namespace="a",
            doctype="u",
            version=1,
            registry=registry,
        )
    message = str(info.value)
    assert message.startswith(f"Unsupported: field {path!r} cannot be exported: ")
    assert reason in message
    assert len(registry) == 0, "a refused class is not registered"
    # The schema generator itself says the same for any model, naming draft, class and field.
    model = type("Unsupported", (BaseModel,), dict(body))
    with pytest.raises(pingsdk.schema.SchemaExportError) as export_info:
        model_schema(model)
    message = str(export_info.value)
    assert message.startswith(f"Unsupported: field {path!r} cannot be exported to draft-04: ")
    assert reason in message
    assert export_info.value.ping == "Unsupported"
    assert export_info.value.field == path


def test_abstract_base_with_unsupported_field_is_not_checked(
    registry: pingsdk.PingRegistry,
) -> None:
    # An abstract base is never sent or exported; a concrete subclass is checked.
    class Base(pingsdk.Ping, namespace="a"):
        data: Any = None

    with pytest.raises(pingsdk.PingDefinitionError, match="field 'data' cannot be exported"):

        class Child(Base, doctype="c", version=1, registry=registry):
            pass


def test_forward_reference_checked_when_built(registry: pingsdk.PingRegistry) -> None:
    class Late(pingsdk.Ping, namespace="a", doctype="late", version=1, registry=registry):
        later: LaterModel

    assert not Late.__pydantic_complete__

    class LaterModel(BaseModel):
        blob: bytes

    with pytest.raises(pingsdk.PingDefinitionError) as info:
        Late.model_rebuild(_types_namespace={"LaterModel": LaterModel})
    assert "Late: field 'later.blob' cannot be exported: bytes have no JSON type" in str(info.value)


def test_forward_reference_resolved_is_usable(registry: pingsdk.PingRegistry) -> None:
    class Early(pingsdk.Ping, namespace="a", doctype="early", version=1, registry=registry):
        later: Later2

    class Later2(BaseModel):
        n: int

    Early.model_rebuild(_types_namespace={"Later2": Later2})
    assert Early(later=Later2(n=1)).to_json_bytes() == b'{"later":{"n":1}}'


def test_serializer_without_return_type(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:

        class P(pingsdk.Ping, namespace="a", doctype="s", version=1, registry=registry):
            when: int

            @field_serializer("when")
            def _ser(self, value):  # type: ignore[no-untyped-def]
                return str(value)

    assert ".<locals>.P: field 'when' cannot be exported: " in str(info.value)
    assert "serializer has no return type annotation" in str(info.value)


def test_serializer_returning_any(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="P: field 'when' cannot be exported"):

        class P(pingsdk.Ping, namespace="a", doctype="s", version=1, registry=registry):
            when: int

            @field_serializer("when")
            def _ser(self, value: int) -> Any:
                return str(value)


def test_model_serializer_without_return_type(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:

        class P(pingsdk.Ping, namespace="a", doctype="s", version=1, registry=registry):
            n: int

            @model_serializer
            def _ser(self):  # type: ignore[no-untyped-def]
                return {"m": self.n}

    assert ".<locals>.P: the class cannot be exported: " in str(info.value)


def test_serializer_with_return_type_is_exported(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="a", doctype="s", version=1, registry=registry):
        when: int

        @field_serializer("when")
        def _ser(self, value: int) -> str:
            return str(value)

    schema = pingsdk.schema.export_schema(P)
    assert schema["properties"]["when"] == {"type": "string"}
    assert pingsdk.schema.validate_payload(schema, P(when=3).to_payload()) == []


def test_enum_keys_need_draft06(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="a", doctype="k", version=1, registry=registry):
        by_color: dict[Color, int]

    with pytest.raises(pingsdk.schema.SchemaExportError) as info:
        pingsdk.schema.export_schema(P)
    assert ".<locals>.P: field 'by_color' cannot be exported to draft-04: " in str(info.value)
    assert "propertyNames" in str(info.value)
    schema = pingsdk.schema.export_schema(P, draft="draft-06")
    assert schema["properties"]["by_color"]["propertyNames"]["enum"] == ["red", "green"]
    payload = P(by_color={Color.RED: 1}).to_payload()
    assert pingsdk.schema.validate_payload(schema, payload) == []
    assert pingsdk.schema.validate_payload(schema, {"by_color": {"blue": 1}}) != []
