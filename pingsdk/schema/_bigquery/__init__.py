"""BigQuery table schemas from JSON schemas, as the pipeline's transpiler writes them.

This reproduces mozilla/jsonschema-transpiler (``--type bigquery``) in three stages, like the
original: the JSON schema becomes a small type tree (:class:`_Tag`); names are normalized and
unions collapsed; the tree becomes BigQuery columns. Production settings are those the schema
repository uses for its ``.bq`` files (``--normalize-case --resolve drop --force-nullable
--tuple-struct``), with the ingestion metadata columns merged in first. Nothing here reads files.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pingsdk._exceptions import ConfigurationError, SchemaWarning
from pingsdk._naming import column_name

__all__ = [
    "COMMON_PING_DOCTYPES",
    "BigQueryResult",
    "DroppedField",
    "bigquery_schema",
    "ingestion_metadata_schema",
    "render_bq",
]

Resolve = Literal["cast", "drop"]
MetadataFormat = Literal["structured", "telemetry"]

_ROOT_COLUMN = "root"
_MAX_DESCRIPTION = 1024
_BQ_ATOMS = {
    "boolean": "BOOL",
    "integer": "INT64",
    "number": "FLOAT64",
    "string": "STRING",
    "datetime": "TIMESTAMP",
    "bytes": "BYTES",
    "json_column": "JSON",
}
_SCHEMA_ATOMS = ("null", "boolean", "number", "integer", "string", "object", "array")


@dataclasses.dataclass(frozen=True, slots=True)
class DroppedField:
    """A schema field that will not become a column, or became a STRING column.

    Attributes:
        path: dotted path of JSON property names (``payload.processes``); ``[]`` marks array
            items, ``{}`` map values, ``[2]`` a tuple position; empty for the document itself.
        reason: why the transpiler cannot type it, e.g. ``anyOf is not translated``.
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.reason}"


@dataclasses.dataclass(frozen=True, slots=True)
class BigQueryResult:
    """The outcome of :func:`bigquery_schema`.

    Attributes:
        fields: the table's columns, BigQuery's JSON schema form (``name``, ``type``, ``mode``,
            optional ``description`` and ``fields``), sorted by name at every level.
        dropped: fields left out of the table (``resolve="drop"``, the production setting),
            each with the reason.
        cast: fields stored as a JSON-encoded ``STRING`` column instead of their own type
            (``resolve="cast"``, the transpiler's default).
    """

    fields: list[dict[str, Any]]
    dropped: list[DroppedField]
    cast: list[DroppedField]

    def render(self) -> str:
        """The ``.bq`` file text for :attr:`fields` (see :func:`render_bq`)."""
        return render_bq(self.fields)


def render_bq(fields: Sequence[Mapping[str, Any]]) -> str:
    """Format BigQuery columns exactly like the schema repository's ``.bq`` files.

    Sorted keys, 2-space indent, non-ASCII kept as is, and a trailing newline.

    Example:
        >>> print(render_bq([{"name": "n", "type": "INT64", "mode": "NULLABLE"}]), end="")
        [
          {
            "mode": "NULLABLE",
            "name": "n",
            "type": "INT64"
          }
        ]
    """
    return json.dumps(list(fields), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Ingestion metadata: the columns the pipeline adds to every table of a namespace.


def _string(description: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", **extra}
    if description is not None:
        out["description"] = description
    return out


def _group(description: str | None, **properties: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if description is not None:
        out["description"] = description
    return out


def ingestion_metadata_schema(kind: MetadataFormat) -> dict[str, Any]:
    """The JSON schema of the ingestion metadata columns merged into every table.

    ``structured`` is used for structured-ingestion namespaces, ``telemetry`` (the same plus
    ``metadata.uri``) for the ``telemetry`` namespace. The content matches
    ``schemas/metadata/{structured,telemetry}-ingestion`` of the schema repository; pass a
    newer copy as ``bigquery_schema(metadata=...)`` when the repository changes it.

    Raises:
        ConfigurationError: ``kind`` is neither ``structured`` nor ``telemetry``.
    """
    if kind not in ("structured", "telemetry"):
        raise ConfigurationError(f"metadata kind {kind!r}: use 'structured' or 'telemetry'")
    geo = _group(
        "Results of a geographic lookup based on the client's IP address",
        city=_string(),
        country=_string("An ISO 3166-1 alpha-2 country code"),
        db_version=_string("The specific geo database version used for this lookup"),
        subdivision1=_string(
            "First major country subdivision, typically a state, province, or county"
        ),
        subdivision2=_string("Second major country subdivision; not applicable for most countries"),
    )
    header = _group(
        "Headers included in the client's HTTP request",
        date=_string("Date HTTP header"),
        dnt=_string("DNT (Do Not Track) HTTP header"),
        x_debug_id=_string("X-Debug-Id HTTP header"),
        x_foxsec_ip_reputation=_string(
            "X-Foxsec-IP-Reputation header (deprecated, "
            "https://mozilla-hub.atlassian.net/browse/DENG-10434)"
        ),
        x_lb_tags=_string("X-LB-Tags HTTP header"),
        x_pingsender_version=_string("X-PingSender-Version HTTP header"),
        x_source_tags=_string("X-Source-Tags HTTP header"),
        x_telemetry_agent=_string("X-Telemetry-Agent HTTP header"),
    )
    isp = _group(
        "Results of ISP lookup based on the client's IP address",
        db_version=_string("The specific geo ISP database version used for this lookup"),
        name=_string("The name of the ISP associated with the client's IP address"),
        organization=_string(
            "The name of a specific business entity associated with the client's IP address "
            "when available; otherwise the ISP name"
        ),
    )
    user_agent = _group(
        "Parsed components of the client's user agent string",
        browser=_string(),
        os=_string(),
        version=_string(),
    )
    metadata: dict[str, dict[str, Any]] = {"geo": geo, "header": header, "isp": isp}
    if kind == "telemetry":
        metadata["uri"] = _group(
            "Components of the URI to which this ping was sent",
            app_build_id=_string(),
            app_name=_string(),
            app_update_channel=_string(),
            app_version=_string(),
        )
    metadata["user_agent"] = user_agent
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": "http://jsonschema.net",
        "properties": {
            "additional_properties": _string(
                "A JSON string containing any payload properties not present in the schema"
            ),
            "document_id": _string(
                "The document ID specified in the URI when the client sent this message"
            ),
            "metadata": _group(None, **metadata),
            "normalized_app_name": _string(
                'Set to "Other" if this message contained an unrecognized app name'
            ),
            "normalized_channel": _string(
                'Set to "Other" if this message contained an unrecognized channel name'
            ),
            "normalized_country_code": _string("An ISO 3166-1 alpha-2 country code"),
            "normalized_os": _string(
                'Set to "Other" if this message contained an unrecognized OS name'
            ),
            "normalized_os_version": _string(),
            "sample_id": {
                "description": "Hashed version of client_id (if present) useful for "
                "partitioning; ranges from 0 to 99",
                "type": "integer",
            },
            "submission_timestamp": _string(
                "Time when the ingestion edge server accepted this message", format="date-time"
            ),
        },
        "required": ["submission_timestamp", "metadata"],
        "type": "object",
    }


def _metadata_kind(schema: Mapping[str, Any], namespace: str | None) -> MetadataFormat | None:
    """Which metadata columns the pipeline merges for this schema (None: none at all)."""
    if namespace == "metadata":
        return None
    if namespace is not None:
        return "telemetry" if namespace == "telemetry" else "structured"
    declared = schema.get("mozPipelineMetadata")
    if isinstance(declared, Mapping) and declared.get("bq_metadata_format") == "telemetry":
        return "telemetry"
    return "structured"


def _merge_metadata(
    schema: Mapping[str, Any], metadata: Mapping[str, Any], dropped: list[DroppedField]
) -> dict[str, Any]:
    """The document schema with the metadata columns added at the top level.

    A document property with a metadata column's name is replaced: the pipeline fills that
    column, so the document's own value would never arrive there.
    """
    merged = dict(schema)
    properties = dict(schema.get("properties") or {})
    for name, sub in (metadata.get("properties") or {}).items():
        if name in properties:
            dropped.append(
                DroppedField(name, "replaced by the ingestion metadata column of the same name")
            )
        properties[name] = sub
    merged["properties"] = properties
    required = [*(schema.get("required") or []), *(metadata.get("required") or [])]
    if required:
        merged["required"] = list(dict.fromkeys(required))
    merged.setdefault("type", "object")
    return merged


# ---------------------------------------------------------------------------------------------
# The schema generator's fixes for common-format telemetry pings (mozilla-schema-generator's
# CommonPing): a few environment fields whose type lists would otherwise be dropped are pinned
# to one type before the transpiler runs.

# Telemetry doctypes the generator treats as common pings (its configuration, plus the pings
# whose published tables show the fixes).
COMMON_PING_DOCTYPES = frozenset(
    {
        "bhr",
        "crash",
        "deletion-request",
        "dnssec-study-v1",
        "event",
        "first-shutdown",
        "heartbeat",
        "main",
        "modules",
        "new-profile",
        "saved-session",
        "testpilot",
        "third-party-modules",
        "uninstall",
        "untrusted-modules",
        "update",
        "voice",
    }
)
_CAST_NOTE = "Cast into an integer via mozilla-schema-generator. See bug 1611027."
_STACK_NOTE = "JSON representation of the stack field. Injected by mozilla-schema-generator."
_USER_PREFS_NOTE = (
    "User preferences - limited to an allowlist defined in "
    "`toolkit/components/telemetry/app/TelemetryEnvironment.jsm`"
)


def _doctype_of(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("mozPipelineMetadata")
    table = declared.get("bq_table") if isinstance(declared, Mapping) else None
    if isinstance(table, str) and (match := re.fullmatch(r"(.+)_v[0-9]+", table)):
        return match.group(1).replace("_", "-")
    return None


def _properties_at(schema: Any, path: Sequence[str]) -> dict[str, Any] | None:
    node = schema
    for part in path:
        if not isinstance(node, dict) or not isinstance(node.get("properties"), dict):
            return None
        node = node["properties"].get(part)
    return node if isinstance(node, dict) else None


def _set_property(schema: dict[str, Any], path: Sequence[str], value: dict[str, Any]) -> None:
    parent = _properties_at(schema, path[:-1]) if len(path) > 1 else schema
    if parent is not None and isinstance(parent.get("properties"), dict):
        parent["properties"][path[-1]] = dict(value)


# The main ping's generator class (MainPing) pins these simpleMeasurements to integers for main
# and first-shutdown (a copy of main sent at the first shutdown); the schema file declares
# payload.simpleMeasurements as an object without properties.
_MAIN_PING_DOCTYPES = frozenset({"main", "first-shutdown"})
_SIMPLE_MEASUREMENTS = (
    "activeTicks",
    "blankWindowShown",
    "firstPaint",
    "main",
    "sessionRestored",
    "totalTime",
)


def _set_schema_elem(schema: dict[str, Any], key: Sequence[str], value: Mapping[str, Any]) -> None:
    """The generator's ``Schema.set_schema_elem``: walk ``key``, creating missing members (an
    object, typed ``object`` when a ``properties`` member is created), then set the last one."""
    node: Any = schema
    for part in key[:-1]:
        if not isinstance(node, dict):
            return
        if part not in node:
            node[part] = {}
            if part == "properties":
                node["type"] = "object"
        node = node[part]
    if isinstance(node, dict):
        node[key[-1]] = dict(value)


def _common_ping_fixes(schema: Mapping[str, Any]) -> dict[str, Any]:
    fixed: dict[str, Any] = copy.deepcopy(dict(schema))
    integer, string = {"type": "integer"}, {"type": "string"}
    if _doctype_of(fixed) in _MAIN_PING_DOCTYPES and _properties_at(fixed, ("environment",)):
        for name in _SIMPLE_MEASUREMENTS:
            where = ("properties", "payload", "properties", "simpleMeasurements", "properties")
            _set_schema_elem(fixed, (*where, name), integer)
    if _properties_at(fixed, ("environment", "addons")) is not None:
        for name, value in (
            ("foreignInstall", integer),
            ("version", string),
            ("userDisabled", integer),
        ):
            addon = _properties_at(fixed, ("environment", "addons", "activeAddons"))
            item = addon.get("additionalProperties") if addon else None
            if isinstance(item, dict) and isinstance(item.get("properties"), dict):
                item["properties"][name] = dict(value)
        _set_property(fixed, ("environment", "addons", "theme", "foreignInstall"), integer)
        plugins = _properties_at(fixed, ("environment", "addons", "activeGMPlugins"))
        item = plugins.get("additionalProperties") if plugins else None
        if isinstance(item, dict) and isinstance(item.get("properties"), dict):
            item["properties"]["applyBackgroundUpdates"] = {**integer, "description": _CAST_NOTE}
    if _doctype_of(fixed) == "bhr":
        # The generator stores each hang's stack as a JSON string (BhrPing).
        hangs = _properties_at(fixed, ("payload", "hangs"))
        item = hangs.get("items") if hangs else None
        if isinstance(item, dict) and isinstance(item.get("properties"), dict):
            item["properties"]["stack"] = {"type": "string", "description": _STACK_NOTE}
    if _properties_at(fixed, ("environment", "settings", "userPrefs")) is not None:
        _set_property(
            fixed,
            ("environment", "settings", "userPrefs"),
            {"type": "object", "additionalProperties": string, "description": _USER_PREFS_NOTE},
        )
    return fixed


# ---------------------------------------------------------------------------------------------
# Glean pings: production tables hold columns the generator injects before transpiling.

_GLEAN_METRIC_TYPES = frozenset(
    {
        *("boolean", "counter", "custom_distribution", "datetime", "dual_labeled_counter"),
        *("jwe", "jwe2", "labeled_boolean", "labeled_counter", "labeled_custom_distribution"),
        *("labeled_memory_distribution", "labeled_quantity", "labeled_rate", "labeled_rate2"),
        *("labeled_string", "labeled_timing_distribution", "memory_distribution", "object"),
        *("quantity", "rate", "string", "string_list", "text", "text2", "timespan"),
        *("timing_distribution", "url", "url2", "uuid"),
    }
)
_GLEAN_JSON_PATHS = r"metrics\.object\..*"


def _production_gaps(schema: Mapping[str, Any], json_paths_given: bool) -> list[str]:
    """Why the production table of this schema has columns the schema cannot produce.

    A Glean ping's ``metrics`` groups (one per metric type) are maps in the generic Glean
    schema; the generator replaces each with one property per metric of the application before
    transpiling. And it stores object metrics as JSON columns (``json_object_path_regex``),
    which older per-application schemas do not declare.
    """
    metrics = _properties_at(schema, ("metrics",))
    groups = metrics.get("properties") if metrics else None
    if not isinstance(groups, Mapping) or not set(groups) & _GLEAN_METRIC_TYPES:
        return []
    gaps: list[str] = []
    maps = sorted(
        str(name)
        for name, group in groups.items()
        if name in _GLEAN_METRIC_TYPES
        and isinstance(group, Mapping)
        and isinstance(group.get("additionalProperties"), Mapping)
        and not group.get("properties")
    )
    if maps:
        shown = ", ".join(maps[:3]) + (f" and {len(maps) - 3} more" if len(maps) > 3 else "")
        gaps.append(
            f"metrics: the Glean metric groups ({shown}) are maps in this schema, but a Glean "
            "application's production table has one column per metric "
            "(metrics.<type>.<category_name>), which the schema generator injects from the "
            "application's metrics.yaml before transpiling; this file cannot produce them (build "
            "the application's schemas and tables with `pingsdk glean export`)"
        )
    objects = groups.get("object")
    if (
        not json_paths_given
        and isinstance(objects, Mapping)
        and isinstance(objects.get("properties"), Mapping)
        and objects["properties"]
    ):
        gaps.append(
            "metrics.object: object metrics are JSON columns in the production table (the "
            f"generator sets json_object_path_regex '{_GLEAN_JSON_PATHS}' for every Glean "
            "schema), but this schema's mozPipelineMetadata does not declare it, so they are "
            f"translated from their JSON schema here; pass json_object_path_regex="
            f"'{_GLEAN_JSON_PATHS}' (CLI: --json-object-path-regex) for the production table"
        )
    return gaps


# ---------------------------------------------------------------------------------------------
# Stage 1: JSON schema -> type tree.


@dataclasses.dataclass
class _Tag:
    """One node of the type tree (the transpiler's AST)."""

    kind: str  # null, atom, object, map, array, tuple, union
    atom: str = ""  # boolean integer number string datetime bytes json json_column
    fields: dict[str, _Tag] = dataclasses.field(default_factory=dict)
    required: set[str] | None = None
    items: list[_Tag] = dataclasses.field(default_factory=list)  # array: [items]; map: [value]
    nullable: bool = False
    description: str | None = None
    title: str | None = None
    source: str = ""  # the path segment of the original JSON property, for reports
    why: str = ""  # for json atoms: what made the schema untypeable


@dataclasses.dataclass(frozen=True)
class _Context:
    normalize_case: bool
    force_nullable: bool
    tuple_struct: bool
    resolve: Resolve
    json_path: re.Pattern[str] | None


def _json(why: str, description: str | None = None, title: str | None = None) -> _Tag:
    return _Tag("atom", "json", why=why, description=description, title=title)


def _schema_error(path: str, problem: str) -> ConfigurationError:
    where = path or "the document"
    return ConfigurationError(f"{where}: {problem}; the pipeline's transpiler rejects it")


def _from_schema(schema: Any, ctx: _Context, path: str) -> _Tag:
    if schema is True or schema == {}:
        return _json("any value is allowed (empty schema)")
    if not isinstance(schema, Mapping):
        raise _schema_error(path, "a subschema must be a JSON object")
    declared = schema.get("type")
    if isinstance(declared, list):
        # A list of types ignores `format` (the transpiler does too: a nullable date-time
        # string stays a STRING column).
        members = [_atom(schema, str(t), ctx, path) for t in declared]
        nullable = "null" in declared
        union = _Tag("union", items=members, nullable=nullable)
        union.description, union.title = _text(schema, "description"), _text(schema, "title")
        return union
    if isinstance(declared, str):
        atom = declared
        if declared == "string" and schema.get("format") == "date-time":
            atom = "datetime"
        elif declared == "string" and schema.get("format") == "bytes":
            atom = "bytes"
        return _atom(schema, atom, ctx, path)
    return _atom(schema, "object", ctx, path)


def _atom(schema: Mapping[str, Any], atom: str, ctx: _Context, path: str) -> _Tag:
    if atom not in (*_SCHEMA_ATOMS, "datetime", "bytes"):
        raise _schema_error(path, f"unknown type {atom!r}")
    if atom == "null":
        tag = _Tag("null", nullable=True)
    elif atom == "object":
        tag = _object(schema, ctx, path)
    elif atom == "array":
        tag = _array(schema, ctx, path)
    else:
        tag = _Tag("atom", atom)
    tag.description, tag.title = _text(schema, "description"), _text(schema, "title")
    return tag


def _text(schema: Mapping[str, Any], key: str) -> str | None:
    value = schema.get(key)
    return value if isinstance(value, str) else None


def _object(schema: Mapping[str, Any], ctx: _Context, path: str) -> _Tag:
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        fields = {
            str(key): _named(_from_schema(sub, ctx, _join(path, str(key))), str(key))
            for key, sub in properties.items()
        }
        required = schema.get("required")
        return _Tag(
            "object",
            fields=fields,
            required={str(r) for r in required} if isinstance(required, list) else None,
        )
    additional = schema.get("additionalProperties")
    patterns = schema.get("patternProperties")
    value_path = f"{path}{{}}"
    if isinstance(additional, Mapping):
        value = _from_schema(additional, ctx, value_path)
        if isinstance(patterns, Mapping):
            extra = [_from_schema(sub, ctx, value_path) for sub in patterns.values()]
            value = _Tag("union", items=[value, *extra])
        return _Tag("map", items=[_named(value, "{}")])
    if isinstance(patterns, Mapping):
        if not patterns:
            return _json("patternProperties is empty")
        members = [_from_schema(sub, ctx, value_path) for sub in patterns.values()]
        return _Tag("map", items=[_named(_Tag("union", items=members), "{}")])
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and one_of:
        members = [_from_schema(sub, ctx, path) for sub in one_of]
        return _Tag("union", items=members, nullable=any(m.kind == "null" for m in members))
    ignored = [k for k in ("$ref", "anyOf", "allOf", "not") if k in schema]
    if ignored:
        return _json(
            f"{' and '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} not "
            "translated by the transpiler"
        )
    return _json("an object with neither properties nor additionalProperties/patternProperties")


def _array(schema: Mapping[str, Any], ctx: _Context, path: str) -> _Tag:
    items = schema.get("items")
    if isinstance(items, list):
        if not ctx.tuple_struct:
            return _json("a tuple (items given as a list) needs tuple structs")
        return _tuple(schema, items, ctx, path)
    if items is None:
        raise _schema_error(path, "an array without items")
    return _Tag("array", items=[_named(_from_schema(items, ctx, f"{path}[]"), "[]")])


def _tuple(schema: Mapping[str, Any], items: list[Any], ctx: _Context, path: str) -> _Tag:
    members = [
        _named(_from_schema(sub, ctx, f"{path}[{i}]"), f"[{i}]") for i, sub in enumerate(items)
    ]
    min_items = schema.get("minItems")
    min_items = min_items if isinstance(min_items, int) else len(members)
    for member in members[min_items:]:
        member.nullable = True
    max_items = schema.get("maxItems")
    max_items = max_items if isinstance(max_items, int) else 0
    extra = schema.get("additionalItems")
    if isinstance(extra, Mapping):
        if max_items < len(members):
            raise _schema_error(path, "a tuple whose maxItems is less than its length")
        for i in range(len(members), max_items):
            member = _named(_from_schema(extra, ctx, f"{path}[{i}]"), f"[{i}]")
            member.nullable = True
            members.append(member)
    elif extra is None:
        if max_items != len(members):
            raise _schema_error(
                path, "a tuple allowing additional items must set maxItems (or additionalItems)"
            )
    elif extra is not False:
        raise _schema_error(path, "a tuple with additionalItems: true")
    return _Tag("tuple", items=members)


def _named(tag: _Tag, source: str) -> _Tag:
    tag.source = source
    return tag


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---------------------------------------------------------------------------------------------
# Stage 2: names, nullability, unions.


def _normalize_names(tag: _Tag, ctx: _Context, path: str, dropped: list[DroppedField]) -> None:
    """Rename properties to legal (and, in production, snake_case) column names, recursively."""
    if tag.kind == "object":
        renamed: dict[str, _Tag] = {}
        origin: dict[str, str] = {}
        for key in sorted(tag.fields):
            child = tag.fields[key]
            name = column_name(key, normalize_case=ctx.normalize_case)
            if not name:
                dropped.append(
                    DroppedField(_join(path, child.source or key), "not a valid column name")
                )
                continue
            if name in renamed:
                # Two properties map to one column: the renamed one wins, as in the transpiler.
                keep, lose = (key, origin[name]) if key != name else (origin[name], key)
                dropped.append(
                    DroppedField(
                        _join(path, lose), f"its column name {name!r} is taken by {keep!r}"
                    )
                )
                if keep == origin[name]:
                    continue
            renamed[name] = child
            origin[name] = key
        tag.fields = renamed
        if tag.required is not None:
            names = (column_name(r, normalize_case=ctx.normalize_case) for r in tag.required)
            tag.required = {n for n in names if n}
        for child in tag.fields.values():
            _normalize_names(child, ctx, _join(path, child.source), dropped)
    else:
        for child in tag.items:
            _normalize_names(child, ctx, _child_path(path, child), dropped)


def _child_path(path: str, child: _Tag) -> str:
    if child.source.startswith(("[", "{")):
        return f"{path}{child.source}"
    return path


def _mark_json_columns(tag: _Tag, ctx: _Context, path: str) -> None:
    """Turn subtrees whose column path matches ``json_object_path_regex`` into JSON columns."""
    if ctx.json_path is None:
        return
    if tag.kind == "object":
        for name, child in tag.fields.items():
            column_path = _join(path, name)
            if ctx.json_path.search(column_path):
                child.kind, child.atom = "atom", "json_column"
                child.fields, child.items = {}, []
            else:
                _mark_json_columns(child, ctx, column_path)
    else:
        for child in tag.items:
            _mark_json_columns(child, ctx, path)


def _infer_nullability(tag: _Tag, force: bool) -> None:
    if tag.kind == "null":
        tag.nullable = True
    elif tag.kind == "object":
        required = tag.required or set()
        for key, child in tag.fields.items():
            _infer_nullability(child, force)
            # A required field that may be null is still nullable.
            child.nullable |= key not in required
    else:
        for child in tag.items:
            _infer_nullability(child, force)
    if force:
        tag.nullable = True


def _collapse(tag: _Tag) -> None:
    """Replace union nodes by one structurally compatible type (a JSON atom if none)."""
    if tag.kind == "object":
        for child in tag.fields.values():
            _collapse(child)
    elif tag.kind == "union":
        merged = _collapse_union(tag.items)
        tag.kind, tag.atom, tag.why = merged.kind, merged.atom, merged.why
        tag.fields, tag.required, tag.items = merged.fields, merged.required, merged.items
        tag.nullable = merged.nullable
        # A merged alternative may still hold unions of its own (an alternative that only one
        # side declares is taken as is); the pipeline's columns show them collapsed too.
        _collapse(tag)
    else:
        for child in tag.items:
            _collapse(child)


def _collapse_union(members: list[_Tag]) -> _Tag:
    """The transpiler's union collapse; order-dependent in the same ways as the original."""
    is_null = any(m.kind == "null" for m in members)
    if len(members) == 1:
        only = copy.deepcopy(members[0])
        return dataclasses.replace(only, nullable=is_null, description=None, title=None)
    items = [
        _collapse_union(m.items) if m.kind == "union" else m for m in members if m.kind != "null"
    ]
    nullable = is_null or any(m.nullable for m in items)
    if not items:
        merged = _Tag("null")
    elif all(m.kind == "atom" for m in items):
        merged = _merge_atoms(items)
    elif all(m.kind == "object" for m in items):
        merged = _merge_objects(items)
    elif all(m.kind == "map" for m in items):
        value = _collapse_union([m.items[0] for m in items])
        merged = _Tag("map", items=[_named(value, "{}")])
    elif all(m.kind == "array" for m in items):
        value = _collapse_union([m.items[0] for m in items])
        merged = _Tag("array", items=[_named(value, "[]")])
    else:
        kinds = sorted({m.atom or m.kind for m in items})
        merged = _json(f"a union of incompatible types ({', '.join(kinds)})")
    merged.nullable = nullable
    _infer_nullability(merged, force=False)
    return merged


def _merge_atoms(items: list[_Tag]) -> _Tag:
    result = ""
    for item in items:
        if not result:
            result = item.atom
        elif {result, item.atom} == {"integer", "number"}:
            result = "number"
        elif result != item.atom or result not in ("boolean", "integer", "number", "string"):
            kinds = sorted({i.atom for i in items})
            return _json(f"a union of incompatible types ({', '.join(kinds)})")
    return _Tag("atom", result)


def _merge_objects(items: list[_Tag]) -> _Tag:
    merged = copy.deepcopy(items[0])
    for right in items[1:]:
        union: dict[str, list[_Tag]] = {k: [v] for k, v in merged.fields.items()}
        for key, value in right.fields.items():
            union.setdefault(key, []).append(value)
        fields = {key: _named(_collapse_union(values), key) for key, values in union.items()}
        conflicts = sorted(k for k, v in fields.items() if v.kind == "atom" and v.atom == "json")
        if conflicts:
            return _json(f"the alternatives disagree on {', '.join(conflicts)}")
        if merged.required is not None and right.required is not None:
            required: set[str] | None = merged.required & right.required
        else:
            required = merged.required if merged.required is not None else right.required
        merged = _Tag("object", fields=fields, required=required)
    return merged


# ---------------------------------------------------------------------------------------------
# Stage 3: type tree -> BigQuery columns.


class _Unrepresentable(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


class _Translator:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.dropped: list[DroppedField] = []
        self.cast: list[DroppedField] = []

    def unrepresentable(self, path: str, reason: str) -> dict[str, Any]:
        if self.ctx.resolve == "drop":
            raise _Unrepresentable(path, reason)
        self.cast.append(DroppedField(path, reason))
        return {"type": "STRING"}

    def column(self, tag: _Tag, path: str) -> dict[str, Any]:
        """``type`` (and ``fields``) of the column for ``tag``, plus its mode and description."""
        out = self.data_type(tag, path)
        if tag.kind in ("array", "map"):
            out["mode"] = "REPEATED"
        elif tag.nullable or tag.kind == "null" or self.ctx.force_nullable:
            out["mode"] = "NULLABLE"
        else:
            out["mode"] = "REQUIRED"
        description = tag.description
        if tag.title:
            description = f"{tag.title} - {description}" if description else tag.title
        if description:
            # BigQuery refuses column descriptions longer than this.
            out["description"] = description[:_MAX_DESCRIPTION]
        return out

    def record(self, members: Iterable[tuple[str, _Tag, str]]) -> list[dict[str, Any]]:
        fields = []
        for name, child, child_path in members:
            try:
                fields.append({"name": name, **self.column(child, child_path)})
            except _Unrepresentable as exc:
                self.dropped.append(DroppedField(exc.path, exc.reason))
        return sorted(fields, key=lambda f: str(f["name"]))

    def data_type(self, tag: _Tag, path: str) -> dict[str, Any]:
        if tag.kind == "atom":
            if tag.atom == "json":
                return self.unrepresentable(path, tag.why or "no single type")
            return {"type": _BQ_ATOMS[tag.atom]}
        if tag.kind == "object":
            fields = self.record(
                (name, child, _join(path, child.source or name))
                for name, child in tag.fields.items()
            )
            if not fields:
                return self.unrepresentable(path, "an object without any column")
            return {"type": "RECORD", "fields": fields}
        if tag.kind == "tuple":
            fields = self.record(
                (f"f{i}_", child, f"{path}[{i}]") for i, child in enumerate(tag.items)
            )
            if not fields:
                return self.unrepresentable(path, "a tuple without any column")
            return {"type": "RECORD", "fields": fields}
        if tag.kind == "array":
            items = tag.items[0]
            inner = self.column(items, f"{path}[]")
            if items.kind == "array":
                # BigQuery has no arrays of arrays: the inner array becomes a record's column.
                return {"type": "RECORD", "fields": [{"name": "list", **inner}]}
            inner.pop("mode")
            inner.pop("description", None)
            return inner
        if tag.kind == "map":
            key = {"mode": "NULLABLE" if self.ctx.force_nullable else "REQUIRED", "type": "STRING"}
            value = self.column(tag.items[0], f"{path}{{}}")
            return {
                "type": "RECORD",
                "fields": [{"name": "key", **key}, {"name": "value", **value}],
            }
        if tag.kind == "null":
            return self.unrepresentable(path, "only null is allowed")
        return self.unrepresentable(path, "a union left inside a merged alternative")


def _to_columns(tag: _Tag, translator: _Translator) -> list[dict[str, Any]]:
    try:
        column = translator.column(tag, "")
    except _Unrepresentable as exc:
        translator.dropped.append(DroppedField(exc.path, exc.reason))
        return []
    if column["type"] == "RECORD" and tag.kind not in ("array", "map"):
        return list(column["fields"])
    return [{"name": _ROOT_COLUMN, **column}]


# ---------------------------------------------------------------------------------------------
# Public entry point.


def bigquery_schema(
    json_schema: Mapping[str, Any],
    *,
    namespace: str | None = None,
    production: bool = True,
    normalize_case: bool | None = None,
    force_nullable: bool | None = None,
    tuple_struct: bool | None = None,
    resolve: Resolve | None = None,
    metadata: MetadataFormat | Mapping[str, Any] | Literal["auto"] | None = "auto",
    json_object_path_regex: str | None = None,
    common_ping: bool | None = None,
) -> BigQueryResult:
    """The BigQuery table schema the pipeline creates for a JSON schema.

    With ``production=True`` (the default) this is what the schema repository's ``.bq`` files
    hold: column names snake_cased, fields the transpiler cannot type dropped (and reported in
    :attr:`BigQueryResult.dropped`), every non-repeated column ``NULLABLE``, tuples as records
    of ``f0_``, ``f1_``..., and the ingestion metadata columns merged in. With
    ``production=False`` the transpiler's own defaults apply: names kept, untypeable fields cast
    to a JSON ``STRING`` column, required fields ``REQUIRED``, tuples as STRING, no metadata.
    Each keyword overrides one setting of the chosen mode.

    Args:
        json_schema: the document's JSON schema (draft-04/06), as a dict.
        namespace: the document namespace; picks the metadata columns (``telemetry`` gets the
            telemetry ones, any other namespace the structured ones). Without it, the schema's
            ``mozPipelineMetadata.bq_metadata_format`` decides.
        production: start from the production settings (True) or the tool's defaults.
        normalize_case: snake_case column names (``--normalize-case``).
        force_nullable: make every non-repeated column NULLABLE (``--force-nullable``).
        tuple_struct: translate ``items: [...]`` tuples into records (``--tuple-struct``).
        resolve: ``"drop"`` leaves untypeable fields out, ``"cast"`` stores them as STRING.
        metadata: ``"auto"`` (metadata in production only, chosen from ``namespace``),
            ``"structured"``/``"telemetry"``, a metadata JSON schema to merge, or ``None``.
        json_object_path_regex: column paths (dotted, after renaming) matching this regular
            expression become ``JSON`` columns. In production it defaults to the schema's
            ``mozPipelineMetadata.json_object_path_regex`` (Glean schemas set it).
        common_ping: apply the schema generator's fixes for common-format telemetry pings
            (a few environment fields pinned to one type; for ``main`` and ``first-shutdown``
            also the six integer ``payload.simpleMeasurements`` fields). Default: in
            production, for telemetry doctypes in :data:`COMMON_PING_DOCTYPES` (from
            ``bq_table``).

    Returns:
        The columns, plus the dropped and cast fields with reasons.

    Raises:
        ConfigurationError: the schema is something the transpiler rejects (an array without
            ``items``, an inconsistent tuple, an unknown type, a bad regular expression).

    Warns:
        SchemaWarning: in production, when the schema's shape shows that the pipeline's table
            has columns this schema cannot produce: a Glean ``metrics`` object whose metric
            groups are maps (the generator injects one column per metric from the application's
            ``metrics.yaml``), or Glean object metrics without ``json_object_path_regex``.

    Example:
        >>> schema = {"type": "object", "properties": {"clientId": {"type": "string"}}}
        >>> result = bigquery_schema(schema, metadata=None)
        >>> result.fields
        [{'name': 'client_id', 'type': 'STRING', 'mode': 'NULLABLE'}]
    """
    if not isinstance(json_schema, Mapping):
        raise ConfigurationError("the JSON schema must be an object (a dict)")
    if resolve not in (None, "cast", "drop"):
        raise ConfigurationError(f"resolve={resolve!r}: use 'cast' or 'drop'")
    declared = json_schema.get("mozPipelineMetadata")
    if json_object_path_regex is None and production and isinstance(declared, Mapping):
        # Glean schemas name their JSON-column paths in their pipeline metadata.
        from_metadata = declared.get("json_object_path_regex")
        json_object_path_regex = from_metadata if isinstance(from_metadata, str) else None
    try:
        pattern = re.compile(json_object_path_regex) if json_object_path_regex else None
    except re.error as exc:
        raise ConfigurationError(
            f"json_object_path_regex: not a regular expression ({exc})"
        ) from None
    ctx = _Context(
        normalize_case=production if normalize_case is None else normalize_case,
        force_nullable=production if force_nullable is None else force_nullable,
        tuple_struct=production if tuple_struct is None else tuple_struct,
        resolve=resolve or ("drop" if production else "cast"),
        json_path=pattern,
    )
    early: list[DroppedField] = []
    metadata_schema: Mapping[str, Any] | None
    if metadata == "auto":
        kind = _metadata_kind(json_schema, namespace) if production else None
        metadata_schema = ingestion_metadata_schema(kind) if kind else None
    elif metadata in ("structured", "telemetry"):
        metadata_schema = ingestion_metadata_schema(metadata)
    elif metadata is None or isinstance(metadata, Mapping):
        metadata_schema = metadata
    else:
        raise ConfigurationError(
            f"metadata={metadata!r}: use 'auto', 'structured', 'telemetry', a schema or None"
        )
    schema = json_schema
    if common_ping is None:
        common_ping = (
            production
            and namespace in (None, "telemetry")
            and _metadata_kind(json_schema, namespace) == "telemetry"
            and _doctype_of(json_schema) in COMMON_PING_DOCTYPES
        )
    if common_ping:
        schema = _common_ping_fixes(schema)
    if production:
        for gap in _production_gaps(json_schema, pattern is not None):
            warnings.warn(gap, SchemaWarning, stacklevel=2)
    if metadata_schema is not None:
        schema = _merge_metadata(schema, metadata_schema, early)

    tree = _from_schema(schema, ctx, "")
    _normalize_names(tree, ctx, "", early)
    _infer_nullability(tree, ctx.force_nullable)
    _collapse(tree)
    _normalize_names(tree, ctx, "", early)
    _mark_json_columns(tree, ctx, "")
    _infer_nullability(tree, ctx.force_nullable)
    translator = _Translator(ctx)
    fields = _to_columns(tree, translator)
    return BigQueryResult(
        fields=fields,
        dropped=sorted([*early, *translator.dropped], key=lambda d: d.path),
        cast=sorted(translator.cast, key=lambda d: d.path),
    )
