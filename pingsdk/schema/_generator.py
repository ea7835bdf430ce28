"""JSON Schema generation for Ping models, one generator per draft.

Every dialect quirk of the schema repository lives here (see ``docs/exporting.md``):

* ``$schema`` declared; every ``$ref`` inlined (no ``$defs``/``definitions``);
* ``Optional[T]`` as a type union (``"type": ["string", "null"]``, ``null`` added to ``enum``);
* enums and ``Literal`` as ``enum`` (never ``const``);
* UUIDs as the repository's ``pattern``; aware datetimes as ``format: date-time``;
  dates as ``format: date`` plus a ``YYYY-MM-DD`` pattern;
* draft-04 boolean ``exclusiveMinimum``/``exclusiveMaximum`` beside ``minimum``/``maximum``;
* tuples as ``items`` arrays with ``minItems``/``maxItems`` (no ``prefixItems``);
* dicts as ``additionalProperties`` maps; nested models inlined and closed
  (``additionalProperties: false``) unless the model has ``extra="allow"``;
* no generated ``title``; descriptions kept; the schema of what is *sent* (serialization mode,
  computed fields included); keys sorted.

Anything the draft cannot express raises :class:`SchemaExportError` naming the class and the
dotted field path, instead of producing a schema that silently means something else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel
from pydantic.errors import PydanticInvalidForJsonSchema
from pydantic.json_schema import (
    DEFAULT_REF_TEMPLATE,
    GenerateJsonSchema,
    JsonSchemaValue,
    JsonSchemaWarningKind,
)
from pydantic_core import core_schema

from pingsdk._exceptions import SchemaExportError

# pydantic's own alias for "a core schema or a field of one" is private; spell it out.
CoreSchemaOrField = (
    core_schema.CoreSchema
    | core_schema.ModelField
    | core_schema.DataclassField
    | core_schema.TypedDictField
    | core_schema.ComputedField
)

__all__ = [
    "DATE_PATTERN",
    "DRAFTS",
    "Draft",
    "Draft04Schema",
    "Draft06Schema",
    "UUID_PATTERN",
    "export_problem",
    "generator_for",
    "model_schema",
    "sort_keys",
]

Draft = Literal["draft-04", "draft-06"]

DRAFTS: Mapping[str, str] = {
    "draft-04": "http://json-schema.org/draft-04/schema#",
    "draft-06": "http://json-schema.org/draft-06/schema#",
}
"""The drafts pingsdk exports, by name, with the ``$schema`` URI each declares."""

UUID_PATTERN = "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"
"""The schema repository's UUID pattern."""

DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""Calendar dates (``YYYY-MM-DD``), as the pipeline metadata's own dates are written."""

# Schema-valued keywords (the walker recurses only into these, so property *names* such as
# "title" are never mistaken for keywords).
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_VALUES = ("additionalProperties", "additionalItems", "not", "propertyNames", "contains")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
# Keywords pydantic may emit that carry no validation meaning for the pipeline.
_DROPPED = ("title", "readOnly", "writeOnly", "discriminator", "deprecated")
# Keywords the draft would silently ignore: a schema using them means something else.
_LATER_DRAFTS = frozenset(
    {
        "prefixItems",
        "$defs",
        "$ref",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_FOREIGN: Mapping[str, frozenset[str]] = {
    "draft-04": _LATER_DRAFTS | {"const", "contains", "propertyNames"},
    "draft-06": _LATER_DRAFTS,
}


class _UnsupportedError(Exception):
    """Internal: a type the draft cannot express; ``path`` grows while unwinding fields."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


class _PingJsonSchema(GenerateJsonSchema):
    """Common generator; subclasses pick the draft. A generator instance is single-use."""

    draft: ClassVar[Draft] = "draft-04"

    def __init__(
        self,
        by_alias: bool | None = True,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        union_format: Literal["any_of", "primitive_type_array"] = "primitive_type_array",
    ) -> None:
        # Always type arrays for unions: the transpiler ignores anyOf, so a nullable column
        # written as anyOf would silently disappear from BigQuery.
        del union_format
        super().__init__(
            by_alias=by_alias, ref_template=ref_template, union_format="primitive_type_array"
        )
        self.schema_dialect = DRAFTS[self.draft]
        # id(field core schema) -> Python field name, to name the field in errors.
        self._field_names: dict[int, str] = {}

    # -- entry point -------------------------------------------------------------------------

    def generate(
        self,
        schema: core_schema.CoreSchema,
        mode: Literal["validation", "serialization"] = "serialization",
    ) -> JsonSchemaValue:
        # Export is always the schema of what is sent, whatever mode the caller asked for.
        raw = super().generate(schema, mode="serialization")
        definitions = raw.pop("$defs", {})
        inlined = _inline(raw, definitions, (), ())
        out = self._normalize(inlined, ())
        out["$schema"] = self.schema_dialect
        result: JsonSchemaValue = sort_keys(out)
        return result

    # -- field names for error messages ----------------------------------------------------

    def _remember(self, fields: Mapping[str, Any] | list[Any], computed: list[Any]) -> None:
        if isinstance(fields, Mapping):
            for name, field in fields.items():
                self._field_names[id(field)] = name
        else:
            for field in fields:
                self._field_names[id(field)] = field["name"]
        for field in computed:
            self._field_names[id(field)] = field["property_name"]

    def generate_inner(self, schema: CoreSchemaOrField) -> JsonSchemaValue:
        name = self._field_names.get(id(schema))
        try:
            if schema.get("type") == "function-plain":
                # A plain validator replaces type checking: what is stored, and so sent,
                # need not be the type the serializer's schema describes.
                raise _UnsupportedError(
                    "a PlainValidator accepts anything, so what is sent is unknown; use an "
                    "AfterValidator or BeforeValidator that keeps the annotated type"
                )
            return super().generate_inner(schema)
        except PydanticInvalidForJsonSchema as exc:
            error = _UnsupportedError(f"no JSON Schema exists for it ({exc.message})")
            if name is not None:
                error.path.insert(0, name)
            raise error from None
        except _UnsupportedError as exc:
            if name is not None:
                exc.path.insert(0, name)
            raise

    def model_fields_schema(self, schema: core_schema.ModelFieldsSchema) -> JsonSchemaValue:
        self._remember(schema["fields"], list(schema.get("computed_fields", [])))
        return super().model_fields_schema(schema)

    def dataclass_args_schema(self, schema: core_schema.DataclassArgsSchema) -> JsonSchemaValue:
        self._remember(list(schema["fields"]), list(schema.get("computed_fields", [])))
        return super().dataclass_args_schema(schema)

    def typed_dict_schema(self, schema: core_schema.TypedDictSchema) -> JsonSchemaValue:
        self._remember(schema["fields"], list(schema.get("computed_fields", [])))
        return _closed(super().typed_dict_schema(schema), schema.get("extra_behavior"))

    # -- objects -----------------------------------------------------------------------------

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        return _closed(json_schema, schema["cls"].model_config.get("extra"))

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        json_schema = super().dataclass_schema(schema)
        config = schema.get("config") or {}
        return _closed(json_schema, config.get("extra_fields_behavior"))

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        if json_schema.get("additionalProperties") is True:
            raise _UnsupportedError(
                "a dict of Any values does not say what is sent; type its values"
            )
        return json_schema

    # -- scalars -----------------------------------------------------------------------------

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        if schema.get("allow_inf_nan", self._config.allow_inf_nan):
            raise _UnsupportedError(
                "float allows NaN/Infinity, which JSON cannot carry (they would be sent as "
                "null); set model_config = ConfigDict(allow_inf_nan=False) on the model or "
                "Field(allow_inf_nan=False) on the field"
            )
        return super().float_schema(schema)

    def uuid_schema(self, schema: core_schema.UuidSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": UUID_PATTERN}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        tz = schema.get("tz_constraint")
        if tz == "aware" or isinstance(tz, int):
            return {"type": "string", "format": "date-time"}
        kind = "a naive datetime" if tz == "naive" else "a datetime that may be naive"
        raise _UnsupportedError(
            f"{kind} is sent without a UTC offset, which is not a valid 'date-time'; annotate "
            "the field as pydantic.AwareDatetime and send timezone-aware values"
        )

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        json_schema = super().literal_schema(schema)
        if "const" in json_schema:
            json_schema["enum"] = [json_schema.pop("const")]
        return json_schema

    def tuple_schema(self, schema: core_schema.TupleSchema) -> JsonSchemaValue:
        items = schema["items_schema"]
        variadic = schema.get("variadic_item_index")
        json_schema: JsonSchemaValue = {"type": "array"}
        if variadic is None:
            json_schema["items"] = [self.generate_inner(item) for item in items]
            json_schema["minItems"] = json_schema["maxItems"] = len(items)
        elif variadic != len(items) - 1:
            raise _UnsupportedError("a tuple with a variadic part before its end has no draft form")
        elif variadic == 0:
            json_schema["items"] = self.generate_inner(items[0])
        else:
            json_schema["items"] = [self.generate_inner(item) for item in items[:variadic]]
            json_schema["additionalItems"] = self.generate_inner(items[variadic])
            json_schema["minItems"] = variadic
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.array)
        return json_schema

    # -- what cannot be expressed -------------------------------------------------------------

    def ser_schema(
        self,
        schema: core_schema.SerSchema
        | core_schema.IncExSeqSerSchema
        | core_schema.IncExDictSerSchema,
    ) -> JsonSchemaValue | None:
        if schema.get("type") in ("function-plain", "function-wrap") and not schema.get(
            "return_schema"
        ):
            raise _UnsupportedError(
                "its serializer has no return type annotation, so what is sent is unknown; "
                "annotate the serializer's return type"
            )
        return super().ser_schema(schema)

    def any_schema(self, schema: core_schema.AnySchema) -> JsonSchemaValue:
        raise _UnsupportedError(
            "Any (or object, or an unparametrized list/dict) does not say what is sent; "
            "give it a concrete type"
        )

    def bytes_schema(self, schema: core_schema.BytesSchema) -> JsonSchemaValue:
        raise _UnsupportedError(
            "bytes have no JSON type (they would be sent base64-encoded with nothing in the "
            "schema saying so); use str and encode explicitly"
        )

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> JsonSchemaValue:
        cls = schema.get("cls")
        name = getattr(cls, "__qualname__", repr(cls))
        raise _UnsupportedError(
            f"arbitrary class {name} is not a JSON type; use a pydantic model or a JSON type"
        )

    def is_subclass_schema(self, schema: core_schema.IsSubclassSchema) -> JsonSchemaValue:
        raise _UnsupportedError("type[...] is not a JSON type")

    def callable_schema(self, schema: core_schema.CallableSchema) -> JsonSchemaValue:
        raise _UnsupportedError("a callable is not a JSON type")

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        raise _UnsupportedError(
            "Decimal is sent as a JSON string; use float, or str with a pattern"
        )

    def time_schema(self, schema: core_schema.TimeSchema) -> JsonSchemaValue:
        raise _UnsupportedError(
            "a time of day has no draft-04 format; use AwareDatetime, or int seconds"
        )

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        raise _UnsupportedError("a timedelta has no JSON type; send a number of (milli)seconds")

    def complex_schema(self, schema: core_schema.ComplexSchema) -> JsonSchemaValue:
        raise _UnsupportedError("a complex number has no JSON type")

    def fraction_schema(self, schema: core_schema.FractionSchema) -> JsonSchemaValue:
        raise _UnsupportedError("a Fraction is sent as a string; use float")

    def handle_invalid_for_json_schema(
        self, schema: CoreSchemaOrField, error_info: str
    ) -> JsonSchemaValue:
        raise _UnsupportedError(
            f"no JSON Schema exists for {error_info}; a plain validator or serializer needs a "
            "declared return/input type"
        )

    def emit_warning(self, kind: JsonSchemaWarningKind, detail: str) -> None:
        # Pydantic would warn and carry on with a partial schema; export refuses instead.
        raise _UnsupportedError(detail)

    # -- post-processing -----------------------------------------------------------------------

    def _normalize(self, node: JsonSchemaValue, path: tuple[str, ...]) -> JsonSchemaValue:
        """Draft fixes that need the whole (inlined) subtree; recurses into sub-schemas only."""
        out = {k: v for k, v in node.items() if k not in _DROPPED}
        out = _map_subschemas(out, path, self._normalize)
        for keyword in _SCHEMA_LISTS:
            if keyword in out and len(out[keyword]) == 1:
                out = {**out.pop(keyword)[0], **out}
        if "anyOf" in out:
            out = _merge_null(out)
        if "const" in out:
            out["enum"] = [out.pop("const")]
        if self.draft == "draft-04":
            _draft04_bounds(out)
        foreign = sorted(set(out) & _FOREIGN[self.draft])
        if foreign:
            what = "a dict key constraint" if foreign == ["propertyNames"] else "this type"
            error = _UnsupportedError(
                f"{what} needs {', '.join(foreign)}, which {self.draft} does not support"
            )
            error.path = list(path)
            raise error
        return out


class Draft04Schema(_PingJsonSchema):
    """Draft-04 generator (the default; the pipeline's production validator's draft)."""

    draft = "draft-04"


class Draft06Schema(_PingJsonSchema):
    """Draft-06 generator (the draft Glean's schemas use)."""

    draft = "draft-06"


_GENERATORS: Mapping[str, type[_PingJsonSchema]] = {
    "draft-04": Draft04Schema,
    "draft-06": Draft06Schema,
}


def generator_for(draft: str) -> type[GenerateJsonSchema]:
    """The generator class for ``draft`` (``"draft-04"`` or ``"draft-06"``).

    Raises:
        SchemaExportError: for any other draft name.
    """
    try:
        return _GENERATORS[draft]
    except KeyError:
        raise SchemaExportError(
            f"unknown draft {draft!r}; choose one of {', '.join(_GENERATORS)}", ping=""
        ) from None


def model_schema(model: type[BaseModel], *, draft: str = "draft-04") -> dict[str, Any]:
    """The JSON Schema of what ``model`` serializes to, in the repository's dialect.

    This is the schema without ``mozPipelineMetadata`` and with pydantic's own root
    description; :func:`pingsdk.schema.export_schema` adds the ping-level parts.

    Raises:
        SchemaExportError: a field the draft cannot express; ``field`` is its dotted path.
    """
    generator = generator_for(draft)
    try:
        return model.model_json_schema(mode="serialization", schema_generator=generator)
    except _UnsupportedError as exc:
        name = model.__qualname__
        field = ".".join(exc.path) or None
        raise SchemaExportError(
            f"{name}: {_where(field)} cannot be exported to {draft}: {exc.reason}",
            ping=name,
            field=field,
        ) from None


def export_problem(
    model: type[BaseModel], *, draft: str = "draft-06"
) -> tuple[str | None, str] | None:
    """Why ``model`` cannot be exported to ``draft``: ``(dotted field path or None, reason)``.

    ``None`` when it can. The reason says what to use instead, as in :func:`model_schema`'s
    error. Draft-06 is the default because every class draft-04 can express, draft-06 can too:
    a class without a problem here can be exported to some draft.
    """
    try:
        model.model_json_schema(mode="serialization", schema_generator=generator_for(draft))
    except _UnsupportedError as exc:
        return (".".join(exc.path) or None, exc.reason)
    return None


def _where(field: str | None) -> str:
    return f"field {field!r}" if field else "the class"


# -- helpers on plain JSON-schema dicts ------------------------------------------------------


def _closed(json_schema: JsonSchemaValue, extra: object) -> JsonSchemaValue:
    # Only extra="allow" sends unknown keys; "ignore" drops them on validation, so what is
    # sent is exactly the declared fields and the schema can say so.
    if extra != "allow" and "$ref" not in json_schema:
        json_schema["additionalProperties"] = False
    json_schema.pop("title", None)
    return json_schema


def _map_subschemas(
    node: JsonSchemaValue,
    path: tuple[str, ...],
    func: Callable[[JsonSchemaValue, tuple[str, ...]], JsonSchemaValue],
) -> JsonSchemaValue:
    out = dict(node)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {
                name: func(sub, (*path, name)) if isinstance(sub, dict) else sub
                for name, sub in out[key].items()
            }
    for key in _SCHEMA_VALUES:
        if isinstance(out.get(key), Mapping):
            out[key] = func(out[key], path)
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [func(sub, path) for sub in out[key]]
    items = out.get("items")
    if isinstance(items, dict):
        out["items"] = func(items, path)
    elif isinstance(items, list):
        out["items"] = [func(sub, path) for sub in items]
    return out


def _inline(
    node: JsonSchemaValue,
    definitions: Mapping[str, JsonSchemaValue],
    expanding: tuple[str, ...],
    path: tuple[str, ...],
) -> JsonSchemaValue:
    """Replace every ``$ref`` by its definition (sibling keys win, e.g. a field description)."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in expanding:
            error = _UnsupportedError(
                f"model {name} contains itself; a recursive schema cannot be inlined"
            )
            error.path = list(path)
            raise error
        target = _inline(definitions[name], definitions, (*expanding, name), path)
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node
    return _map_subschemas(node, path, lambda sub, p: _inline(sub, definitions, expanding, p))


def _merge_null(node: JsonSchemaValue) -> JsonSchemaValue:
    """``anyOf: [T, {"type": "null"}]`` -> T with ``null`` in its type (and enum)."""
    options = node["anyOf"]
    others = [o for o in options if o != {"type": "null"}]
    if len(others) != 1 or len(others) == len(options) or "type" not in others[0]:
        return node
    merged = dict(others[0])
    types = merged["type"] if isinstance(merged["type"], list) else [merged["type"]]
    merged["type"] = [*types, "null"] if "null" not in types else types
    if "enum" in merged and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    merged.update({k: v for k, v in node.items() if k != "anyOf"})
    return merged


def _draft04_bounds(node: JsonSchemaValue) -> None:
    """Numeric ``exclusiveMinimum: x`` -> ``minimum: x, exclusiveMinimum: true`` (in place)."""
    for exclusive, inclusive, tighter in (
        ("exclusiveMinimum", "minimum", max),
        ("exclusiveMaximum", "maximum", min),
    ):
        bound = node.get(exclusive)
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            continue
        current = node.get(inclusive)
        if current is not None and tighter(current, bound) == current and current != bound:
            del node[exclusive]  # the inclusive bound is already stricter
        else:
            node[inclusive] = bound
            node[exclusive] = True


def sort_keys(value: Any) -> Any:
    """A copy of a JSON value with every object's keys sorted (lists keep their order)."""
    if isinstance(value, Mapping):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value
