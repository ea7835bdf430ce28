"""A Ping's class keywords: checked, inherited and resolved into its :class:`PingInfo`."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pingsdk._exceptions import ConfigurationError, PingDefinitionError
from pingsdk._model._review import DataCategory, DataReview
from pingsdk._naming import EXAMPLE_NAME_PATTERN, LEGACY_NAMESPACE, MAX_VERSION, validate_name

if TYPE_CHECKING:
    # Imported where used: only pings that declare a monitor need pingsdk.monitoring, so
    # `import pingsdk` does not load it.
    from pingsdk._model._ping import Ping
    from pingsdk.monitoring._thresholds import DocTypeMonitor

__all__ = [
    "PING_KEYWORDS",
    "PIPELINE_METADATA_KEYS",
    "PingInfo",
    "check_examples",
    "resolve_info",
]

PIPELINE_METADATA_KEYS = frozenset(
    {
        "$comment",
        "bq_dataset_family",
        "bq_metadata_format",
        "bq_table",
        "geoip_skip_entries",
        "include_client_id",
        "include_info_sections",
        "json_object_path_regex",
        "jwe_mappings",
        "override_attributes",
        "sample_id_source_uuid_attribute",
        "sample_id_source_uuid_payload_path",
        "split_config",
        "submission_timestamp_granularity",
    }
)
"""``mozPipelineMetadata`` keys a ping may set with ``pipeline_metadata=`` (the repository's
metaschema; ``expiration_policy`` comes from ``review=``)."""

PING_KEYWORDS = (
    "namespace",
    "doctype",
    "version",
    "review",
    "registry",
    "legacy_telemetry",
    "additional_properties",
    "examples",
    "fail_examples",
    "pipeline_metadata",
    "monitor",
)
"""The class keywords a :class:`~pingsdk.Ping` subclass accepts."""


@dataclasses.dataclass(frozen=True, slots=True)
class PingInfo:
    """Everything a Ping class declares besides its fields.

    Read it with ``MyPing.ping_info()``.

    Attributes:
        namespace: document namespace (``/submit/<namespace>/...``).
        doctype: document type.
        version: positive document version.
        review: the data-review facts; ``review.questions`` defaults to the class docstring.
        legacy_telemetry: ``True`` for pings in the reserved ``telemetry`` namespace, sent with the
            legacy Firefox URL form.
        additional_properties: whether the exported schema (and the model) accept unknown keys.
        examples: named payloads that must validate (written as ``*.pass.json``).
        fail_examples: named payloads that must not validate (written as ``*.fail.json``).
        pipeline_metadata: extra ``mozPipelineMetadata`` keys merged over the derived ones.
        field_categories: data category per dotted field path, where a field declares one.
        monitor: the docType monitor thresholds (``monitor=``), fields and recipients settled.
    """

    namespace: str
    doctype: str
    version: int
    review: DataReview
    legacy_telemetry: bool = False
    additional_properties: bool = False
    examples: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    fail_examples: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    pipeline_metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    field_categories: Mapping[str, DataCategory] = dataclasses.field(default_factory=dict)
    monitor: DocTypeMonitor | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """``(namespace, doctype, version)``."""
        return (self.namespace, self.doctype, self.version)

    @property
    def category(self) -> DataCategory | None:
        """The highest data category among the ping and its fields (``None`` if none declared)."""
        found = [c for c in (self.review.category, *self.field_categories.values()) if c]
        return max(found) if found else None


def resolve_info(
    cls: type[Ping], keywords: Mapping[str, Any], docstring: str | None
) -> PingInfo | None:
    """The :class:`PingInfo` that ``cls`` declares, or ``None`` for an abstract base.

    ``keywords`` are the class keywords written on ``cls``; the others are inherited from its
    bases. ``docstring`` is the class's own, the default of ``review.questions``. Raises
    :class:`PingDefinitionError` naming the keyword to fix.
    """
    name = cls.__qualname__
    raw = _declared(cls, keywords)
    if "doctype" not in raw and "version" not in raw:
        return None  # an abstract base, e.g. shared fields or a shared namespace
    namespace, doctype, version = _identity(name, raw)
    legacy = _legacy_telemetry(name, raw, namespace)
    review = raw.get("review", DataReview())
    if not isinstance(review, DataReview):
        raise PingDefinitionError(f"{name}: review must be a pingsdk.DataReview")
    if review.questions is None and docstring:
        review = dataclasses.replace(review, questions=docstring)
    additional = _additional_properties(name, raw, cls)
    examples = _examples(name, "examples", raw.get("examples", {}))
    fail_examples = _examples(name, "fail_examples", raw.get("fail_examples", {}))
    metadata = _pipeline_metadata(name, raw)
    monitor = raw.get("monitor")
    if monitor is not None:
        from pingsdk.monitoring._resolve import resolve_monitor

        monitor = resolve_monitor(name, monitor, cls, legacy=legacy, review=review)
    return PingInfo(
        namespace=namespace,
        doctype=doctype,
        version=version,
        review=review,
        legacy_telemetry=legacy,
        additional_properties=additional,
        examples=examples,
        fail_examples=fail_examples,
        pipeline_metadata=metadata,
        field_categories=_field_categories(cls),
        monitor=monitor,
    )


def _declared(cls: type[Ping], keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords in force for ``cls``: its bases' merged with its own (kept on the class)."""
    raw = _parent_info(cls)
    # A subclass inherits namespace, review and options, never doctype/version implicitly
    # redeclared: a child of a concrete ping must say which version it is.
    inherited_doctype = raw.pop("doctype", None)
    raw.pop("version", None)
    raw.update({k: v for k, v in keywords.items() if k != "registry"})
    if "doctype" not in raw and inherited_doctype is not None and "version" in keywords:
        raw["doctype"] = inherited_doctype
    cls.__ping_raw__ = dict(raw)  # type: ignore[attr-defined]
    return raw


def _parent_info(cls: type[Ping]) -> dict[str, Any]:
    for base in cls.__mro__[1:]:
        raw = base.__dict__.get("__ping_raw__")
        if raw is not None:
            return dict(raw)
    return {}


def _identity(name: str, raw: Mapping[str, Any]) -> tuple[str, str, int]:
    """``(namespace, doctype, version)``, each checked."""
    missing = [k for k in ("namespace", "doctype", "version") if k not in raw]
    if missing:
        raise PingDefinitionError(
            f"{name}: missing class keyword {', '.join(missing)}; a ping is declared as "
            f'class {name}(pingsdk.Ping, namespace="my-app", doctype="my-ping", version=1)'
        )
    try:
        namespace = validate_name("namespace", raw["namespace"])
        doctype = validate_name("doctype", raw["doctype"])
    except ConfigurationError as exc:
        raise PingDefinitionError(f"{name}: {exc}") from None
    version = raw["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PingDefinitionError(f"{name}: version must be a positive int, got {version!r}")
    if version > MAX_VERSION:
        raise PingDefinitionError(
            f"{name}: version must be at most 2**63 - 1 (the pipeline stores it as a 64-bit "
            f"integer), got an int of {version.bit_length()} bits"
        )
    return namespace, doctype, version


def _legacy_telemetry(name: str, raw: Mapping[str, Any], namespace: str) -> bool:
    """``legacy_telemetry=``, which must go with the reserved ``telemetry`` namespace."""
    legacy = raw.get("legacy_telemetry", False)
    if not isinstance(legacy, bool):
        raise PingDefinitionError(f"{name}: legacy_telemetry must be True or False")
    if namespace == LEGACY_NAMESPACE and not legacy:
        raise PingDefinitionError(
            f"{name}: the 'telemetry' namespace is reserved for Firefox desktop's legacy URL form; "
            "pass legacy_telemetry=True if this really is a legacy telemetry ping, or choose "
            "your application's own namespace"
        )
    if legacy and namespace != LEGACY_NAMESPACE:
        raise PingDefinitionError(
            f"{name}: legacy_telemetry=True needs namespace='telemetry', got {namespace!r}"
        )
    return legacy


def _additional_properties(name: str, raw: Mapping[str, Any], cls: type[Ping]) -> bool:
    """``additional_properties=``, which must agree with the model's ``extra`` setting."""
    additional = raw.get("additional_properties", False)
    if not isinstance(additional, bool):
        raise PingDefinitionError(f"{name}: additional_properties must be True or False")
    if additional != (cls.model_config.get("extra") == "allow"):
        raise PingDefinitionError(
            f"{name}: additional_properties={additional} needs model_config extra="
            f"{'allow' if additional else 'forbid'!r} so the model accepts what the schema does"
        )
    return additional


def _pipeline_metadata(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """``pipeline_metadata=``: only keys the repository's metaschema knows, never the expiry."""
    metadata = raw.get("pipeline_metadata", {})
    if not isinstance(metadata, Mapping):
        raise PingDefinitionError(f"{name}: pipeline_metadata must be a mapping")
    if "expiration_policy" in metadata:
        raise PingDefinitionError(
            f"{name}: pipeline_metadata must not set expiration_policy; declare "
            "review=pingsdk.DataReview(expires=..., delete_after_days=...) instead"
        )
    unknown_meta = sorted(set(metadata) - PIPELINE_METADATA_KEYS)
    if unknown_meta:
        raise PingDefinitionError(
            f"{name}: unknown pipeline_metadata key {', '.join(map(repr, unknown_meta))}; "
            f"the schema repository accepts {', '.join(sorted(PIPELINE_METADATA_KEYS))}"
        )
    return dict(metadata)


def _examples(name: str, kind: str, value: object) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise PingDefinitionError(f"{name}: {kind} must map a test name to a payload dict")
    out: dict[str, dict[str, Any]] = {}
    for key, payload in value.items():
        if not isinstance(key, str) or not EXAMPLE_NAME_PATTERN.fullmatch(key):
            raise PingDefinitionError(
                f"{name}: {kind} name {key!r} must use only letters, digits, '_' and '-' "
                "(it becomes part of a validation file name)"
            )
        if not isinstance(payload, Mapping):
            raise PingDefinitionError(f"{name}: {kind}[{key!r}] must be a dict payload")
        out[key] = dict(payload)
    return out


def check_examples(cls: type[Ping], info: PingInfo) -> None:
    """Refuse a class whose ``examples=`` payloads it does not accept itself."""
    from pydantic import ValidationError

    for key, payload in info.examples.items():
        try:
            cls.model_validate(payload)
        except ValidationError as exc:
            raise PingDefinitionError(
                f"{cls.__qualname__}: examples[{key!r}] is not a valid {cls.__qualname__}: "
                f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']} at "
                f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}"
            ) from None


def _field_categories(
    cls: type[BaseModel], prefix: str = "", seen: tuple[type[BaseModel], ...] = ()
) -> dict[str, DataCategory]:
    found: dict[str, DataCategory] = {}
    for field_name, field in cls.model_fields.items():
        path = prefix + (field.serialization_alias or field.alias or field_name)
        for meta in field.metadata:
            if isinstance(meta, DataCategory):
                found[path] = meta
        for arg in _model_args(field.annotation):
            if arg in seen or arg is cls:
                continue  # a recursive model: its categories are already collected once
            for sub, cat in _field_categories(arg, path + ".", (*seen, cls)).items():
                found.setdefault(sub, cat)
    return found


def _model_args(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _model_args(arg)
