"""What the data pipeline adds around the transpiler, as data and small schema rewrites.

- the ingestion metadata columns merged into every table (:func:`ingestion_metadata_schema`,
  chosen by :func:`metadata_kind`, merged by :func:`merge_metadata`);
- the schema generator's fixes for common-format telemetry pings (:data:`COMMON_PING_DOCTYPES`,
  :func:`common_ping_fixes`);
- what a Glean application's production table holds that its schema file cannot produce
  (:func:`production_gaps`).

Values are copied from mozilla-pipeline-schemas and mozilla-schema-generator; nothing here
reads files.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pingsdk._exceptions import ConfigurationError
from pingsdk.schema._bigquery._result import DroppedField

__all__ = [
    "COMMON_PING_DOCTYPES",
    "MetadataFormat",
    "common_ping_fixes",
    "doctype_of",
    "ingestion_metadata_schema",
    "merge_metadata",
    "metadata_kind",
    "production_gaps",
]

MetadataFormat = Literal["structured", "telemetry"]

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
    metadata = {"geo": _geo(), "header": _header(), "isp": _isp()}
    if kind == "telemetry":
        metadata["uri"] = _uri()
    metadata["user_agent"] = _user_agent()
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": "http://jsonschema.net",
        "properties": _top_level_columns(_group(None, **metadata)),
        "required": ["submission_timestamp", "metadata"],
        "type": "object",
    }


def _geo() -> dict[str, Any]:
    return _group(
        "Results of a geographic lookup based on the client's IP address",
        city=_string(),
        country=_string("An ISO 3166-1 alpha-2 country code"),
        db_version=_string("The specific geo database version used for this lookup"),
        subdivision1=_string(
            "First major country subdivision, typically a state, province, or county"
        ),
        subdivision2=_string("Second major country subdivision; not applicable for most countries"),
    )


def _header() -> dict[str, Any]:
    return _group(
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


def _isp() -> dict[str, Any]:
    return _group(
        "Results of ISP lookup based on the client's IP address",
        db_version=_string("The specific geo ISP database version used for this lookup"),
        name=_string("The name of the ISP associated with the client's IP address"),
        organization=_string(
            "The name of a specific business entity associated with the client's IP address "
            "when available; otherwise the ISP name"
        ),
    )


def _uri() -> dict[str, Any]:
    return _group(
        "Components of the URI to which this ping was sent",
        app_build_id=_string(),
        app_name=_string(),
        app_update_channel=_string(),
        app_version=_string(),
    )


def _user_agent() -> dict[str, Any]:
    return _group(
        "Parsed components of the client's user agent string",
        browser=_string(),
        os=_string(),
        version=_string(),
    )


def _top_level_columns(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "additional_properties": _string(
            "A JSON string containing any payload properties not present in the schema"
        ),
        "document_id": _string(
            "The document ID specified in the URI when the client sent this message"
        ),
        "metadata": metadata,
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
    }


def metadata_kind(schema: Mapping[str, Any], namespace: str | None) -> MetadataFormat | None:
    """Which metadata columns the pipeline merges for this schema (None: none at all)."""
    if namespace == "metadata":
        return None
    if namespace is not None:
        return "telemetry" if namespace == "telemetry" else "structured"
    declared = schema.get("mozPipelineMetadata")
    if isinstance(declared, Mapping) and declared.get("bq_metadata_format") == "telemetry":
        return "telemetry"
    return "structured"


def merge_metadata(
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


def doctype_of(schema: Mapping[str, Any]) -> str | None:
    """The doctype named by ``mozPipelineMetadata.bq_table`` (``bhr_v4`` -> ``bhr``), if any."""
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


def common_ping_fixes(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with the generator's fixes for common pings applied."""
    fixed: dict[str, Any] = copy.deepcopy(dict(schema))
    integer, string = {"type": "integer"}, {"type": "string"}
    if doctype_of(fixed) in _MAIN_PING_DOCTYPES and _properties_at(fixed, ("environment",)):
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
    if doctype_of(fixed) == "bhr":
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


def production_gaps(schema: Mapping[str, Any], json_paths_given: bool) -> list[str]:
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
