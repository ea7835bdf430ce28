"""The invariant of #8: a Ping class that can be defined can be exported, and every payload that
``to_json_bytes()`` (so ``submit()``) produces is valid against that class's exported schema.

Construction validates; these tests go around it (assignment after construction, in-place
changes of lists and nested models, ``model_construct()``) and check that the result is either
refused with :class:`pingsdk.InvalidPingError` or valid.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    create_model,
)

import pingsdk
from pingsdk._model._payload import PayloadCheck

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Color(str, enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    """A level."""

    LOW = 1
    HIGH = 2


class Inner(BaseModel):
    """A nested object."""

    model_config = ConfigDict(allow_inf_nan=False)
    name: str = Field(max_length=10, description="A short name.")
    ratio: float | None = Field(default=None, description="A ratio.")


# -- the unit cases named in the issue ---------------------------------------------------------


def declare(registry: pingsdk.PingRegistry) -> type[pingsdk.Ping]:
    class Search(pingsdk.Ping, namespace="inv", doctype="search", version=1, registry=registry):
        """Search counts."""

        engine: str = Field(description="Engine.")
        count: int = Field(ge=0, description="Searches.")
        ratio: float | None = Field(default=None, description="A ratio.")
        when: AwareDatetime | None = Field(default=None, description="When.")
        inner: Inner = Field(default_factory=lambda: Inner(name="n"), description="Nested.")
        tags: list[int] = Field(default_factory=list, description="Tags.")

    return Search


@pytest.fixture
def search(registry: pingsdk.PingRegistry) -> type[pingsdk.Ping]:
    return declare(registry)


def refused(ping: pingsdk.Ping) -> pingsdk.InvalidPingError:
    with pytest.raises(pingsdk.InvalidPingError) as info:
        ping.to_json_bytes()
    assert isinstance(info.value, ValueError), "also the natural builtin"
    assert info.value.ping == type(ping).__qualname__
    return info.value


def test_valid_ping_is_sent_unchanged(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    assert ping.to_json_bytes() == (
        b'{"engine":"ddg","count":3,"ratio":null,"when":null,'
        b'"inner":{"name":"n","ratio":null},"tags":[]}'
    )
    assert PayloadCheck.of(search).fast, "a plain class takes the fast path"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_or_infinity_assigned_after_construction(
    search: type[pingsdk.Ping], value: float
) -> None:
    ping = search(engine="ddg", count=3)
    ping.ratio = value  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "ratio"
    assert "ratio' is NaN or infinity, which JSON cannot carry" in str(error)
    assert "the ping was not stored" in str(error)


def test_nan_in_a_nested_model_changed_in_place(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    ping.inner.ratio = math.nan  # type: ignore[attr-defined]
    assert refused(ping).field == "inner.ratio"


def test_nan_through_model_construct(search: type[pingsdk.Ping]) -> None:
    ping = search.model_construct(engine="ddg", count=3, ratio=math.inf)
    assert refused(ping).field == "ratio"


def test_wrong_type_assigned_is_named_but_never_echoed(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    ping.count = "s3cr3t"  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "count"
    assert "s3cr3t" not in str(error), "no payload contents in messages"
    assert error.__cause__ is None and error.__context__ is None, "nor in chained errors"


def test_wrong_type_appended_in_place(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3, tags=[1, 2])
    ping.tags.append("three")  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "tags[2]"
    assert "does not match the schema: type 'integer'" in str(error)


def test_whole_float_in_a_nested_int_list(search: type[pingsdk.Ping]) -> None:
    # A draft-06 validator takes 0.0 as an integer, a draft-04 one (the default export) does not.
    ping = search(engine="ddg", count=3, tags=[1])
    ping.tags.append(0.0)  # type: ignore[attr-defined]
    assert refused(ping).field == "tags[1]"


def test_broken_constraint_assigned(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    ping.count = -1  # type: ignore[attr-defined]
    assert "field 'count' does not match the schema: minimum 0" in str(refused(ping))


def test_naive_datetime_assigned(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    ping.when = datetime.datetime(2025, 1, 1, 12, 0)  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "when"
    assert "format 'date-time'" in str(error)


def test_model_construct_without_a_required_field(search: type[pingsdk.Ping]) -> None:
    error = refused(search.model_construct(engine="ddg"))
    assert error.field == "count"
    assert "field 'count' is required but missing" in str(error)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (INT64_MAX, True),
        (INT64_MIN, False),  # below the field's own minimum of 0
        (INT64_MAX + 1, False),
        (10**5000, False),  # beyond Python's 4,300-digit int parsing limit
    ],
    ids=["int64-max", "int64-min", "int64-max+1", "5001-digits"],
)
def test_integers_outside_64_bits(search: type[pingsdk.Ping], value: int, ok: bool) -> None:
    ping = search(engine="ddg", count=3)
    ping.count = value  # type: ignore[attr-defined]
    if ok:
        assert json.loads(ping.to_json_bytes())["count"] == value
    else:
        assert refused(ping).field == "count"


@pytest.mark.parametrize(
    "value", [INT64_MIN - 1, INT64_MAX + 1, -(10**4400)], ids=["below", "above", "4401-digits"]
)
def test_huge_integer_accepted_by_the_model_is_refused_when_sent(
    search: type[pingsdk.Ping], value: int
) -> None:
    # Python ints have no bound, so construction accepts them; the pipeline's INT64 does not.
    ping = search(engine="ddg", count=3, tags=[1, value])
    error = refused(ping)
    assert error.field == "tags[1]"
    assert "outside the 64-bit range the pipeline stores" in str(error)


def test_long_digit_runs_in_strings_are_fine(search: type[pingsdk.Ping]) -> None:
    # The cheap scan for 19-digit runs also matches inside strings; the exact check clears it.
    ping = search(engine="1" * 40, count=INT64_MAX, tags=[INT64_MIN + 5])
    assert json.loads(ping.to_json_bytes())["engine"] == "1" * 40


def test_unserializable_value_is_wrapped(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    ping.engine = object()  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "engine"
    assert "cannot be serialized to JSON" in str(error)


def test_lone_surrogate_is_wrapped(search: type[pingsdk.Ping]) -> None:
    # Pydantic accepts it at construction; JSON encoding (UTF-8) cannot.
    error = refused(search(engine="\ud800", count=3))
    assert error.field == "engine"


def test_circular_list_is_wrapped(search: type[pingsdk.Ping]) -> None:
    ping = search(engine="ddg", count=3)
    loop: list[Any] = [1]
    loop.append(loop)
    ping.tags = loop  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "tags"
    assert "cannot be serialized to JSON" in str(error)


def _needs_str(value: str) -> str:
    return value.upper()  # AttributeError for anything but a str


def test_validator_raising_on_bypassed_value(registry: pingsdk.PingRegistry) -> None:
    # Re-validating hands the after-validator a value it never expected; that is a refusal
    # (the payload is checked against the schema), never an AttributeError from submit().
    class P(pingsdk.Ping, namespace="inv", doctype="upper", version=1, registry=registry):
        code: Annotated[str, AfterValidator(_needs_str)] = Field(description="A code.")

    ping = P(code="ab")
    ping.code = 3  # type: ignore[assignment]
    assert refused(ping).field == "code"


def test_subclass_checks_its_own_fields(registry: pingsdk.PingRegistry) -> None:
    class V1(pingsdk.Ping, namespace="inv", doctype="sub", version=1, registry=registry):
        n: int = Field(description="N.")

    class V2(V1, version=2, registry=registry):
        ratio: float = Field(description="R.")

    ping = V2(n=1, ratio=0.5)
    ping.ratio = math.nan
    assert refused(ping).field == "ratio"
    assert V1(n=1).to_json_bytes() == b'{"n":1}'


# -- classes that take the exact path (their fields do not prove the payload) -----------------


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def test_before_validator_class_checks_the_payload(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="inv", doctype="before", version=1, registry=registry):
        code: Annotated[str, BeforeValidator(_strip), Field(max_length=3)] = Field(
            description="A code."
        )

    assert not PayloadCheck.of(P).fast
    ping = P(code="  ab  ")
    assert ping.to_json_bytes() == b'{"code":"ab"}'
    # Re-validating would strip it back under max_length; the payload itself is too long.
    ping.code = "abcd   "
    assert "field 'code' does not match the schema: maxLength 3" in str(refused(ping))


def test_computed_field_class(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="inv", doctype="computed", version=1, registry=registry):
        n: int = Field(description="N.")

        @computed_field(description="Twice n.")  # type: ignore[prop-decorator]
        @property
        def twice(self) -> float:
            return self.n * 2.0 if self.n >= 0 else math.nan

    assert not PayloadCheck.of(P).fast
    assert P(n=2).to_json_bytes() == b'{"n":2,"twice":4.0}'
    assert refused(P(n=-1)).field == "twice"


def _once(value: str) -> str:
    if value.endswith("!"):
        raise ValueError("already marked")
    return value + "!"


def test_after_validator_that_refuses_its_own_output(registry: pingsdk.PingRegistry) -> None:
    # Strict re-validation of the fields fails (the validator is not idempotent); the exact
    # check then finds the payload valid, so the ping is sent: the schema decides, not pydantic.
    class P(pingsdk.Ping, namespace="inv", doctype="after", version=1, registry=registry):
        mark: Annotated[str, AfterValidator(_once)] = Field(description="A mark.")

    assert PayloadCheck.of(P).fast
    assert P(mark="a").to_json_bytes() == b'{"mark":"a!"}'


def test_use_enum_values_class(registry: pingsdk.PingRegistry) -> None:
    class P(pingsdk.Ping, namespace="inv", doctype="enumv", version=1, registry=registry):
        model_config = ConfigDict(use_enum_values=True)
        color: Color = Field(description="A colour.")

    assert not PayloadCheck.of(P).fast
    assert P(color=Color.RED).to_json_bytes() == b'{"color":"red"}'
    ping = P(color=Color.RED)
    ping.color = "blue"  # type: ignore[assignment]
    assert "field 'color' does not match the schema: enum" in str(refused(ping))


def test_json_schema_extra_constraint_is_enforced(registry: pingsdk.PingRegistry) -> None:
    # The schema says more than the model: only the exact path can see it.
    class P(pingsdk.Ping, namespace="inv", doctype="extra", version=1, registry=registry):
        code: str = Field(description="A code.", json_schema_extra={"maxLength": 2})

    assert not PayloadCheck.of(P).fast
    assert refused(P(code="abc")).field == "code"
    assert P(code="ab").to_json_bytes() == b'{"code":"ab"}'


# -- submit() refuses, and stores nothing ------------------------------------------------------


def test_submit_refuses_and_stores_nothing(search: type[pingsdk.Ping], tmp_path: Path) -> None:
    with pingsdk.PingClient(
        "http://127.0.0.1:9", queue_path=tmp_path / "q.db", uploader=False
    ) as client:
        bad = search(engine="ddg", count=3)
        bad.ratio = math.nan  # type: ignore[attr-defined]
        with pytest.raises(pingsdk.InvalidPingError, match="field 'ratio'"):
            client.submit(bad)
        assert client.stats().pending == 0
        client.submit(search(engine="ddg", count=3))
        assert client.stats().pending == 1


# -- property tests over a space of field types ------------------------------------------------

TZ = st.sampled_from(
    [
        datetime.timezone.utc,
        datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
        datetime.timezone(datetime.timedelta(hours=-8)),
    ]
)
INT64 = st.integers(INT64_MIN, INT64_MAX)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@dataclasses.dataclass(frozen=True)
class Kind:
    """A field type and a strategy for values construction accepts."""

    annotation: Any
    values: st.SearchStrategy[Any]


def _identity(value: object) -> object:
    return value


LEAVES = [
    Kind(str, st.text(max_size=8)),
    Kind(Annotated[str, Field(min_length=1, max_length=4)], st.text(min_size=1, max_size=4)),
    Kind(Annotated[str, Field(pattern=r"^[a-z]+$")], st.from_regex(r"[a-z]{1,6}", fullmatch=True)),
    Kind(int, INT64),
    Kind(Annotated[int, Field(ge=0, le=100)], st.integers(0, 100)),
    Kind(float, FINITE),
    Kind(Annotated[float, Field(ge=0, lt=1)], st.floats(0, 1, exclude_max=True)),
    Kind(bool, st.booleans()),
    Kind(Literal["a", "b"], st.sampled_from(["a", "b"])),
    Kind(Literal[1, 2, 3], st.sampled_from([1, 2, 3])),
    Kind(Color, st.sampled_from(Color)),
    Kind(Level, st.sampled_from(Level)),
    Kind(uuid.UUID, st.uuids()),
    Kind(AwareDatetime, st.datetimes(timezones=TZ)),
    Kind(datetime.date, st.dates()),
    Kind(Annotated[int, Field(gt=-5, lt=5, multiple_of=2)], st.sampled_from([-4, -2, 0, 2, 4])),
    Kind(Annotated[str, AfterValidator(str.lower)], st.text(max_size=5)),
    Kind(set[int], st.sets(INT64, max_size=3)),
    Kind(frozenset[str], st.frozensets(st.text(max_size=3), max_size=3)),
    Kind(tuple[int, ...], st.lists(INT64, max_size=3).map(tuple)),
    Kind(Literal[True], st.just(True)),
    # These send the class down the exact path.
    Kind(Annotated[int, BeforeValidator(_identity)], INT64),
    Kind(
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=3)],
        st.text(alphabet="ab ", max_size=3),
    ),
]


def _optional(kind: Kind) -> Kind:
    return Kind(Optional[kind.annotation], st.none() | kind.values)  # noqa: UP045


def _list(kind: Kind) -> Kind:
    return Kind(list[kind.annotation], st.lists(kind.values, max_size=3))  # type: ignore[name-defined]


def _dict(kind: Kind) -> Kind:
    return Kind(
        dict[str, kind.annotation],  # type: ignore[name-defined]
        st.dictionaries(st.text(max_size=4), kind.values, max_size=3),
    )


def _pair(kinds: tuple[Kind, Kind]) -> Kind:
    first, second = kinds
    return Kind(
        tuple[first.annotation, second.annotation],  # type: ignore[name-defined]
        st.tuples(first.values, second.values),
    )


def _model(kinds: list[Kind]) -> Kind:
    fields: dict[str, Any] = {
        f"m{i}": (kind.annotation, Field(description=f"Nested {i}."))
        for i, kind in enumerate(kinds)
    }
    model = create_model("Nested", __config__=ConfigDict(allow_inf_nan=False), **fields)
    values = st.fixed_dictionaries({f"m{i}": k.values for i, k in enumerate(kinds)})
    return Kind(model, values.map(lambda d: model(**d)))


KINDS: st.SearchStrategy[Kind] = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        children.map(_optional),
        children.map(_list),
        children.map(_dict),
        st.tuples(children, children).map(_pair),
        st.lists(children, min_size=1, max_size=3).map(_model),
    ),
    max_leaves=6,
)


def _twice_first(self: Any) -> int:
    return 2


@st.composite
def ping_classes(draw: st.DrawFn) -> tuple[type[pingsdk.Ping], dict[str, Kind]]:
    kinds = {f"f{i}": kind for i, kind in enumerate(draw(st.lists(KINDS, min_size=1, max_size=4)))}
    body: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": "Generated",
        "__doc__": "A generated ping.",
        "__annotations__": {name: kind.annotation for name, kind in kinds.items()},
    }
    if draw(st.booleans()):
        body["constant"] = computed_field(property(_twice_first), description="Always 2.")
    cls = type(
        "Generated",
        (pingsdk.Ping,),
        body,
        namespace="inv",
        doctype="generated",
        version=1,
        registry=pingsdk.PingRegistry(),
    )
    return cls, kinds


WILD: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=INT64_MAX + 1),
    st.integers(max_value=INT64_MIN - 1),
    st.sampled_from([10**5000, -(10**4400)]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=5),
    st.lists(st.integers() | st.text(max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.datetimes(),
    st.datetimes(timezones=TZ),
    st.dates(),
    st.uuids(),
    st.sampled_from(Color),
    st.sampled_from(Level),
    st.binary(max_size=3),
    st.builds(object),
    st.tuples(st.integers()),
    st.sets(st.integers(), max_size=2),
    st.frozensets(st.text(max_size=2), max_size=2),
    st.dictionaries(st.sampled_from(["m0", "m1", "zz"]), st.integers() | st.text(max_size=2)),
    st.sampled_from([" a ", "ab    ", "\ud800", ""]),
    st.builds(Inner, name=st.text(max_size=3)),
)


def _fail_on_constant(name: str) -> None:
    raise AssertionError(f"{name} in a payload is not JSON")


def _int64(text: str) -> int:
    assert len(text) <= 20 and INT64_MIN <= int(text) <= INT64_MAX, "integer outside 64 bits"
    return int(text)


def check(ping: pingsdk.Ping) -> bool:
    """Refused with InvalidPingError, or a payload valid for the exported schema. True if sent."""
    cls = type(ping)
    try:
        data = ping.to_json_bytes()
    except pingsdk.InvalidPingError as exc:
        assert exc.ping == cls.__qualname__
        assert str(exc).startswith(f"{cls.__qualname__}: ")
        return False
    payload = json.loads(data, parse_constant=_fail_on_constant, parse_int=_int64)
    issues = pingsdk.schema.validate_payload(
        pingsdk.schema.export_schema(cls), payload, format_check=True
    )
    assert issues == [], [str(i) for i in issues]
    return True


def _models_and_lists(value: object) -> tuple[list[BaseModel], list[list[Any]]]:
    models: list[BaseModel] = []
    lists: list[list[Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, BaseModel):
            models.append(node)
            for name in type(node).model_fields:
                walk(node.__dict__.get(name))
        elif isinstance(node, list):
            lists.append(node)
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, tuple):
            for item in node:
                walk(item)

    walk(value)
    return models, lists


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(generated=ping_classes(), data=st.data())
def test_defined_class_exports_and_valid_instances_are_sent(
    generated: tuple[type[pingsdk.Ping], dict[str, Kind]], data: st.DataObject
) -> None:
    cls, kinds = generated
    schema = pingsdk.schema.export_schema(cls)  # (a) it can be exported
    assert schema["additionalProperties"] is False
    values = data.draw(st.fixed_dictionaries({name: k.values for name, k in kinds.items()}))
    assert check(cls(**values)), "a constructed ping is never refused"


@SETTINGS
@given(generated=ping_classes(), data=st.data())
def test_changed_instances_are_refused_or_valid(
    generated: tuple[type[pingsdk.Ping], dict[str, Kind]], data: st.DataObject
) -> None:
    cls, kinds = generated
    values = data.draw(st.fixed_dictionaries({name: k.values for name, k in kinds.items()}))
    ping = cls(**values)
    for _ in range(data.draw(st.integers(1, 3))):
        models, lists = _models_and_lists(ping)
        how = data.draw(st.sampled_from(["assign", "nested", "append"]))
        if how == "nested" and len(models) > 1:
            target = data.draw(st.sampled_from(models[1:]))
            setattr(
                target,
                data.draw(st.sampled_from(sorted(type(target).model_fields))),
                data.draw(WILD),
            )
        elif how == "append" and lists:
            data.draw(st.sampled_from(lists)).append(data.draw(WILD))
        else:
            setattr(ping, data.draw(st.sampled_from(sorted(kinds))), data.draw(WILD))
    check(ping)


@SETTINGS
@given(generated=ping_classes(), data=st.data())
def test_model_construct_instances_are_refused_or_valid(
    generated: tuple[type[pingsdk.Ping], dict[str, Kind]], data: st.DataObject
) -> None:
    cls, kinds = generated
    values: dict[str, Any] = {}
    for name, kind in kinds.items():
        choice = data.draw(st.sampled_from(["valid", "wild", "missing"]))
        if choice == "valid":
            values[name] = data.draw(kind.values)
        elif choice == "wild":
            values[name] = data.draw(WILD)
    check(cls.model_construct(**values))


UNEXPORTABLE = [
    (bytes, "bytes have no JSON type"),
    (datetime.datetime, "may be naive"),
    (Any, "Any (or object"),
    (dict[str, Any], "Any (or object"),
    (datetime.timedelta, "a timedelta has no JSON type"),
]


@SETTINGS
@given(
    kinds=st.lists(KINDS, max_size=3),
    bad=st.sampled_from(UNEXPORTABLE),
    wrappers=st.lists(st.sampled_from(["optional", "list", "dict", "model"]), max_size=3),
)
def test_unexportable_types_are_refused_at_definition(
    kinds: list[Kind], bad: tuple[Any, str], wrappers: list[str]
) -> None:
    annotation, reason = bad
    kind = Kind(annotation, st.nothing())
    path = "bad"
    for wrapper in wrappers:
        if wrapper == "model":
            kind = _model([kind])
            path += ".m0"
        else:
            kind = {"optional": _optional, "list": _list, "dict": _dict}[wrapper](kind)
    annotations = {f"f{i}": k.annotation for i, k in enumerate(kinds)}
    annotations["bad"] = kind.annotation
    body = {"__module__": __name__, "__qualname__": "Bad", "__annotations__": annotations}
    registry = pingsdk.PingRegistry()
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        type(
            "Bad",
            (pingsdk.Ping,),
            body,
            namespace="inv",
            doctype="bad",
            version=1,
            registry=registry,
        )
    assert str(info.value).startswith(f"Bad: field '{path}' cannot be exported: ")
    assert reason in str(info.value)
    assert len(registry) == 0


def test_bool_is_not_an_int_literal(registry: pingsdk.PingRegistry) -> None:
    # Pydantic's Literal[1] takes True (True == 1); the schema's enum [1] does not.
    class P(pingsdk.Ping, namespace="inv", doctype="lit", version=1, registry=registry):
        n: Literal[1, 2] = Field(default=1, description="N.")
        flag: Literal[True] = Field(default=True, description="F.")

    assert not PayloadCheck.of(P).fast
    ping = P()
    ping.n = True  # type: ignore[assignment]
    assert refused(ping).field == "n"
    ping = P()
    ping.flag = 1  # type: ignore[assignment]
    assert refused(ping).field == "flag"


def test_dict_in_place_of_a_model_with_unknown_keys(search: type[pingsdk.Ping]) -> None:
    # The nested model ignores unknown keys when validating; the dict is sent with all of them.
    ping = search(engine="ddg", count=3)
    ping.inner = {"name": "n", "unknown": 1}  # type: ignore[attr-defined]
    error = refused(ping)
    assert error.field == "inner"
    assert "has a key the schema does not declare" in str(error)
    ping.inner = {"name": "n"}  # type: ignore[attr-defined]
    assert json.loads(ping.to_json_bytes())["inner"] == {"name": "n"}


def test_open_ping_checks_its_extras(registry: pingsdk.PingRegistry) -> None:
    class Open(
        pingsdk.Ping,
        namespace="inv",
        doctype="open",
        version=1,
        registry=registry,
        additional_properties=True,
    ):
        model_config = ConfigDict(extra="allow")
        kind: str = Field(description="Kind.")

    assert not PayloadCheck.of(Open).fast
    assert Open.model_validate({"kind": "a", "n": 1}).to_json_bytes() == b'{"kind":"a","n":1}'
    huge = Open.model_validate({"kind": "a", "n": 2**64})
    assert refused(huge).field == "n"


def test_stripping_str_constraint(registry: pingsdk.PingRegistry) -> None:
    # Validation strips before checking the length; the unstripped value is what is sent.
    class P(pingsdk.Ping, namespace="inv", doctype="strip", version=1, registry=registry):
        code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=3)] = Field(
            description="A code."
        )

    assert not PayloadCheck.of(P).fast
    ping = P(code=" ab ")
    assert ping.to_json_bytes() == b'{"code":"ab"}'
    ping.code = "ab    "
    assert "maxLength 3" in str(refused(ping))
