"""The transpiler's entry point: settings, the pipeline's schema rewrites, then the stages.

:func:`bigquery_schema` picks the settings (production or the tool's defaults), applies the
schema generator's fixes and merges the ingestion metadata (:mod:`._pipeline`), and runs the
three stages: type tree (:mod:`._tree`), normalize (:mod:`._normalize`), columns
(:mod:`._columns`).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from pingsdk._exceptions import ConfigurationError, SchemaWarning
from pingsdk.schema._bigquery._columns import to_columns
from pingsdk.schema._bigquery._normalize import normalize
from pingsdk.schema._bigquery._pipeline import (
    COMMON_PING_DOCTYPES,
    MetadataFormat,
    common_ping_fixes,
    doctype_of,
    ingestion_metadata_schema,
    merge_metadata,
    metadata_kind,
    production_gaps,
)
from pingsdk.schema._bigquery._result import BigQueryResult, DroppedField
from pingsdk.schema._bigquery._tree import Context, Resolve, type_tree

__all__ = ["bigquery_schema"]


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
    options = _Options(
        namespace=namespace,
        production=production,
        normalize_case=normalize_case,
        force_nullable=force_nullable,
        tuple_struct=tuple_struct,
        resolve=resolve,
        metadata=metadata,
        json_object_path_regex=json_object_path_regex,
        common_ping=common_ping,
    )
    ctx = _settings(json_schema, options)
    early: list[DroppedField] = []
    schema = _rewritten(json_schema, ctx, options, early)
    return _stages(schema, ctx, early)


def _stages(schema: Mapping[str, Any], ctx: Context, early: list[DroppedField]) -> BigQueryResult:
    """The three stages on the rewritten schema; ``early`` holds the fields left out before."""
    tree = type_tree(schema, ctx)
    normalize(tree, ctx, early)
    fields, dropped, cast = to_columns(tree, ctx)
    return BigQueryResult(
        fields=fields,
        dropped=sorted([*early, *dropped], key=lambda d: d.path),
        cast=sorted(cast, key=lambda d: d.path),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Options:
    """The keywords of :func:`bigquery_schema`, as given."""

    namespace: str | None
    production: bool
    normalize_case: bool | None
    force_nullable: bool | None
    tuple_struct: bool | None
    resolve: Resolve | None
    metadata: MetadataFormat | Mapping[str, Any] | Literal["auto"] | None
    json_object_path_regex: str | None
    common_ping: bool | None


def _settings(json_schema: Mapping[str, Any], options: _Options) -> Context:
    """The transpiler's settings: those of the chosen mode, overridden by each given keyword.

    Raises:
        ConfigurationError: ``json_schema`` is not a mapping, ``resolve`` is unknown, or the
            JSON column paths are not a regular expression.
    """
    if not isinstance(json_schema, Mapping):
        raise ConfigurationError("the JSON schema must be an object (a dict)")
    production, resolve = options.production, options.resolve
    if resolve not in (None, "cast", "drop"):
        raise ConfigurationError(f"resolve={resolve!r}: use 'cast' or 'drop'")
    json_paths = options.json_object_path_regex
    declared = json_schema.get("mozPipelineMetadata")
    if json_paths is None and production and isinstance(declared, Mapping):
        # Glean schemas name their JSON-column paths in their pipeline metadata.
        from_metadata = declared.get("json_object_path_regex")
        json_paths = from_metadata if isinstance(from_metadata, str) else None
    try:
        pattern = re.compile(json_paths) if json_paths else None
    except re.error as exc:
        raise ConfigurationError(
            f"json_object_path_regex: not a regular expression ({exc})"
        ) from None
    return Context(
        normalize_case=production if options.normalize_case is None else options.normalize_case,
        force_nullable=production if options.force_nullable is None else options.force_nullable,
        tuple_struct=production if options.tuple_struct is None else options.tuple_struct,
        resolve=resolve or ("drop" if production else "cast"),
        json_path=pattern,
    )


def _rewritten(
    json_schema: Mapping[str, Any], ctx: Context, options: _Options, early: list[DroppedField]
) -> Mapping[str, Any]:
    """The schema the stages read: with the generator's fixes and the metadata columns.

    Replaced document properties are appended to ``early``; in production, columns the schema
    cannot produce are warned about.
    """
    namespace, production = options.namespace, options.production
    metadata_schema = _metadata_schema(json_schema, namespace, production, options.metadata)
    schema = json_schema
    common_ping = options.common_ping
    if common_ping is None:
        common_ping = (
            production
            and namespace in (None, "telemetry")
            and metadata_kind(json_schema, namespace) == "telemetry"
            and doctype_of(json_schema) in COMMON_PING_DOCTYPES
        )
    if common_ping:
        schema = common_ping_fixes(schema)
    if production:
        for gap in production_gaps(json_schema, ctx.json_path is not None):
            # Point at the caller of bigquery_schema (two frames up), whose schema it is.
            warnings.warn(gap, SchemaWarning, stacklevel=3)
    if metadata_schema is not None:
        schema = merge_metadata(schema, metadata_schema, early)
    return schema


def _metadata_schema(
    json_schema: Mapping[str, Any],
    namespace: str | None,
    production: bool,
    metadata: MetadataFormat | Mapping[str, Any] | Literal["auto"] | None,
) -> Mapping[str, Any] | None:
    """The ingestion metadata schema to merge, from the ``metadata`` argument."""
    if metadata == "auto":
        kind = metadata_kind(json_schema, namespace) if production else None
        return ingestion_metadata_schema(kind) if kind else None
    if metadata in ("structured", "telemetry"):
        return ingestion_metadata_schema(metadata)
    if metadata is None or isinstance(metadata, Mapping):
        return metadata
    raise ConfigurationError(
        f"metadata={metadata!r}: use 'auto', 'structured', 'telemetry', a schema or None"
    )
