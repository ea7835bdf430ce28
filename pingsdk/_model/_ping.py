"""The Ping base model: identity class keywords, name rules, registry, payload bytes."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import json
import math
import re
import sys
import threading
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic._internal._model_construction import ModelMetaclass, build_lenient_weakvaluedict
from pydantic._internal._typing_extra import parent_frame_namespace

from pingsdk._exceptions import (
    ConfigurationError,
    InvalidPingError,
    PingDefinitionError,
    SchemaExportError,
)
from pingsdk._model._review import DataCategory, DataReview
from pingsdk.schema._generator import export_problem, model_schema
from pingsdk.wire._urls import MAX_VERSION

if TYPE_CHECKING:
    # Imported where used: only pings that declare a monitor need _monitoring, and only the
    # exact payload check needs _validation (and jsonschema), so `import pingsdk` loads neither.
    from pingsdk.monitoring._thresholds import DocTypeMonitor

__all__ = ["Ping", "PingInfo", "PingRegistry", "default_registry", "validate_name"]

NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
"""Namespaces and doctypes of Ping classes (use ``fullmatch``): lowercase kebab-case, no leading or
trailing '-'."""
EXAMPLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
LEGACY_NAMESPACE = "telemetry"
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

_PING_KEYWORDS = (
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


def validate_name(kind: str, value: object) -> str:
    """Check a namespace or doctype against the schema repository's naming rule.

    Returns the value; raises :class:`ConfigurationError` naming what to fix.

    >>> validate_name("doctype", "search-counts")
    'search-counts'
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{kind} must be a str, got {type(value).__name__}")
    if not NAME_PATTERN.fullmatch(value):
        raise ConfigurationError(
            f"{kind} {value!r} is not lowercase kebab-case: use only a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )
    return value


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


class PingRegistry:
    """A set of Ping classes, unique by ``(namespace, doctype, version)``.

    Every Ping class registers in :data:`default_registry` unless declared with ``registry=``.
    Redefining a class with the same source file (or module) and qualified name (a reload)
    replaces it.

    Added in 0.1.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: dict[tuple[str, str, int], type[Ping]] = {}

    def register(self, cls: type[Ping]) -> None:
        """Add ``cls``; raise :class:`PingDefinitionError` if its identity is taken."""
        info = cls.ping_info()
        with self._lock:
            other = self._classes.get(info.key)
            if other is not None and _origin(other) != _origin(cls):
                raise PingDefinitionError(
                    f"{cls.__qualname__}: namespace={info.namespace!r} doctype={info.doctype!r} "
                    f"version={info.version} is already declared by "
                    f"{other.__module__}.{other.__qualname__}; bump the version or use another "
                    "doctype"
                )
            self._classes[info.key] = cls

    def get(self, namespace: str, doctype: str, version: int) -> type[Ping] | None:
        """The class declared for this identity (``-`` and ``_`` compare equal), or ``None``."""
        from pingsdk.schema._validation import lookup_name

        with self._lock:
            for (ns, dt, v), cls in self._classes.items():
                if (lookup_name(ns), lookup_name(dt), v) == (
                    lookup_name(namespace),
                    lookup_name(doctype),
                    version,
                ):
                    return cls
        return None

    def __iter__(self) -> Iterator[type[Ping]]:
        with self._lock:
            return iter(sorted(self._classes.values(), key=lambda c: c.ping_info().key))

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, cls: object) -> bool:
        return cls in self._classes.values()


def _origin(cls: type) -> tuple[str, str]:
    """Where a class is declared: its source file (or module name) and qualified name.

    The same file imported under two module names (``examples.pings`` and a CLI target path)
    declares the same pings, so it counts as a reload, not as a second declaration.
    """
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    where = str(Path(file).resolve()) if isinstance(file, str) else cls.__module__
    return (where, cls.__qualname__)


default_registry = PingRegistry()
"""The registry Ping classes join unless they pass ``registry=``."""


class _PingMeta(ModelMetaclass):
    """Takes the ping's class keywords before pydantic's metaclass sees them.

    ``namespace`` is also the name of the metaclass's own third parameter, so it is taken from
    ``**kwargs`` with the class namespace passed positionally.
    """

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type[Any], ...],
        class_dict: dict[str, Any],
        /,
        **kwargs: Any,
    ) -> type:
        ours = {k: kwargs.pop(k) for k in _PING_KEYWORDS if k in kwargs}
        unknown = [
            k for k in kwargs if k not in ConfigDict.__annotations__ and not k.startswith("__")
        ]
        if unknown:
            import difflib  # only a mistyped keyword needs it

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, _PING_KEYWORDS, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise PingDefinitionError(
                f"{cls_name}: unknown class keyword {', '.join(hints)}; "
                f"a Ping accepts {', '.join(_PING_KEYWORDS)}"
            )
        if kwargs.pop("__pydantic_reset_parent_namespace__", True):
            # Pydantic reads the namespace of the frame that called its metaclass to resolve
            # annotations naming local classes; with this metaclass in between, that frame
            # would be ours, so hand it the class statement's frame instead.
            class_dict["__pydantic_parent_namespace__"] = build_lenient_weakvaluedict(
                parent_frame_namespace()
            )
        kwargs["__pydantic_reset_parent_namespace__"] = False
        cls = super().__new__(mcs, cls_name, bases, class_dict, **kwargs)
        if class_dict.get("__module__") == __name__ and cls_name == "Ping":
            return cls
        info = _resolve_info(typing.cast("type[Ping]", cls), ours)
        cls.__ping_info__ = info  # type: ignore[attr-defined]
        if info is not None:
            registry = ours.get("registry", default_registry)
            if not isinstance(registry, PingRegistry):
                raise PingDefinitionError(f"{cls_name}: registry must be a pingsdk.PingRegistry")
            if typing.cast("type[Ping]", cls).__pydantic_complete__:
                _ensure_exportable(typing.cast("type[Ping]", cls))
            # else a forward reference is still unresolved: Ping.__pydantic_on_complete__
            # checks once pydantic has built the class.
            _check_examples(typing.cast("type[Ping]", cls), info)
            registry.register(typing.cast("type[Ping]", cls))
        return cls


def _parent_info(cls: type[Ping]) -> dict[str, Any]:
    for base in cls.__mro__[1:]:
        raw = base.__dict__.get("__ping_raw__")
        if raw is not None:
            return dict(raw)
    return {}


def _resolve_info(cls: type[Ping], ours: dict[str, Any]) -> PingInfo | None:
    name = cls.__qualname__
    raw = _parent_info(cls)
    # A subclass inherits namespace, review and options, never doctype/version implicitly
    # redeclared: a child of a concrete ping must say which version it is.
    inherited_identity = raw.pop("doctype", None), raw.pop("version", None)
    raw.update({k: v for k, v in ours.items() if k != "registry"})
    if "doctype" not in raw and inherited_identity[0] is not None and "version" in ours:
        raw["doctype"] = inherited_identity[0]
    cls.__ping_raw__ = dict(raw)  # type: ignore[attr-defined]
    identity = [k for k in ("namespace", "doctype", "version") if k in raw]
    if "doctype" not in raw and "version" not in raw:
        return None  # an abstract base, e.g. shared fields or a shared namespace
    missing = [k for k in ("namespace", "doctype", "version") if k not in identity]
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
    review = raw.get("review", DataReview())
    if not isinstance(review, DataReview):
        raise PingDefinitionError(f"{name}: review must be a pingsdk.DataReview")
    doc = _own_docstring(cls)
    if review.questions is None and doc:
        review = dataclasses.replace(review, questions=doc)
    additional = raw.get("additional_properties", False)
    if not isinstance(additional, bool):
        raise PingDefinitionError(f"{name}: additional_properties must be True or False")
    if additional != (cls.model_config.get("extra") == "allow"):
        raise PingDefinitionError(
            f"{name}: additional_properties={additional} needs model_config extra="
            f"{'allow' if additional else 'forbid'!r} so the model accepts what the schema does"
        )
    examples = _examples(name, "examples", raw.get("examples", {}))
    fail_examples = _examples(name, "fail_examples", raw.get("fail_examples", {}))
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
    monitor = raw.get("monitor")
    if monitor is not None:
        from pingsdk.monitoring._thresholds import resolve_monitor

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
        pipeline_metadata=dict(metadata),
        field_categories=_field_categories(cls),
        monitor=monitor,
    )


def _own_docstring(cls: type[Ping]) -> str | None:
    """The nearest docstring written on a user's class (never Ping's or BaseModel's)."""
    for klass in cls.__mro__:
        if klass is Ping or klass is BaseModel:
            return None
        doc = klass.__dict__.get("__doc__")
        if doc:
            return inspect.cleandoc(doc)
    return None


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


def _check_examples(cls: type[Ping], info: PingInfo) -> None:
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


def _ensure_exportable(cls: type[Ping]) -> None:
    """Refuse a class no JSON Schema can describe, with the reason export would give.

    Export used to be the only place that found out; checking when the class is built keeps
    the promise that a class that can be defined can be exported (to draft-06 at least: draft-04
    also refuses constrained dict keys). The verdict is kept, so a class whose check failed when
    pydantic completed it late (a forward reference) is refused again when it is sent.
    """
    cls.__ping_exportable__ = False  # type: ignore[attr-defined]
    problem = export_problem(cls)
    if problem is not None:
        field, reason = problem
        where = f"field {field!r}" if field else "the class"
        raise PingDefinitionError(f"{cls.__qualname__}: {where} cannot be exported: {reason}")
    cls.__ping_exportable__ = True  # type: ignore[attr-defined]


INT64_MIN = -(2**63)
"""The smallest integer a payload may carry (BigQuery INT64, the decoder's Java ``long``)."""
INT64_MAX = 2**63 - 1
"""The largest integer a payload may carry."""

# Nineteen digits in a row is the shortest text that can hold an integer outside 64 bits:
# payloads without such a run (nearly all) skip the exact integer check. Mapping digits to "1"
# and the rest to "0" and searching for the run is 5-15 times faster than re's [0-9]{19}.
_DIGIT_MAP = bytes(49 if 48 <= byte <= 57 else 48 for byte in range(256))
_LONG_DIGIT_RUN = b"1" * 19
# Core-schema parts that change a value between the instance and the payload, or between the
# payload and what validation checks (or, for a dataclass, that strict validation of a dumped
# dict refuses): with any of them, re-validating the fields proves nothing about the payload,
# so it is checked against the exported schema instead.
_TRANSFORMING = frozenset({"function-before", "function-wrap", "function-plain", "dataclass"})
# JSON Schema keywords that change no payload's validity; json_schema_extra may set these.
_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "deprecated", "readOnly", "writeOnly", "$comment"}
)
_STR_TRANSFORMS = ("strip_whitespace", "to_lower", "to_upper")
_OPAQUE_KEYS = frozenset({"cls", "default", "members", "expected", "function", "ref", "metadata"})


class _PayloadCheck:
    """How :meth:`Ping.to_json_bytes` proves one class's payloads valid (built once per class).

    Measured on a 3-field ping (pydantic 2.14, a shared 2-core machine): serializing alone
    takes 0.3-0.5 µs; the fast check below adds about 2 µs (submit() p50 went from 29 to 33 µs);
    validating the payload against the exported schema with jsonschema costs 15-20 µs.
    ``validate_assignment=True`` would cost nothing here but misses in-place changes
    (``ping.items.append(...)``, ``ping.nested.x = ...``) and ``model_construct()``; re-validating
    the serialized JSON with ``validate_json`` cannot see NaN (sent as ``null``, which an
    ``Optional`` field accepts). So the fast check dumps the fields (python mode, by name) and
    re-validates them strictly: a field that passes its own validator serializes to what the
    schema, generated from the same core schema, describes. Classes where that proves nothing
    (validators that transform input, custom serializers, computed fields, dataclasses,
    ``use_enum_values``, ``extra="allow"``, int or bool ``Literal`` values, str constraints that
    strip or re-case, JSON Schema overrides) take the exact path: the payload against the
    exported schema. A failed fast check is confirmed on the exact path before anything is
    refused, so the rule is always the schema's. Integers outside 64 bits pass both (Python's
    and JSON Schema's integers are unbounded) and are caught by a scan of the bytes.
    """

    __slots__ = ("_validator", "cls", "fast")

    def __init__(self, cls: type[Ping]) -> None:
        self.cls = cls
        self.fast = _fields_prove_payload(cls.__pydantic_core_schema__)
        self._validator: Any = None

    @classmethod
    def of(cls, ping_cls: type[Ping]) -> _PayloadCheck:
        check = ping_cls.__dict__.get("__ping_payload_check__")
        if check is None:
            if not ping_cls.__pydantic_complete__:
                ping_cls.model_rebuild()  # raises what pydantic raises for an unresolved name
            if not ping_cls.is_abstract() and not ping_cls.__dict__.get("__ping_exportable__"):
                _ensure_exportable(ping_cls)
            check = cls(ping_cls)
            ping_cls.__ping_payload_check__ = check  # type: ignore[attr-defined]
        return typing.cast(_PayloadCheck, check)

    def encode(self, ping: Ping) -> bytes:
        """The payload bytes of ``ping``, or :class:`InvalidPingError`."""
        serializer = self.cls.__pydantic_serializer__
        proved = False
        if self.fast:
            try:
                state = serializer.to_python(
                    ping, by_alias=False, exclude_computed_fields=True, warnings=False
                )
                # extra="forbid": a dict put where a model belongs is sent with all its keys,
                # so a key the model would ignore must fail here.
                self.cls.__pydantic_validator__.validate_python(
                    state, strict=True, extra="forbid", by_alias=False, by_name=True
                )
                proved = True
            except Exception:  # noqa: S110 - any failure only means "not proved here"
                # Not raised from here: pydantic's error repeats the values, and a validator
                # may raise anything when it meets what it never should have.
                pass
        if not proved:
            self.exact(ping)  # raises unless the payload is valid after all
        try:
            data = serializer.to_json(ping, by_alias=True, warnings=False)
        except Exception as exc:  # e.g. a lone surrogate in a str, or a serializer's own error
            raise self._unserializable(ping, exc) from None
        if _LONG_DIGIT_RUN in data.translate(_DIGIT_MAP):
            self._check_integers(json.loads(data, parse_int=_parse_int))
        return data

    def exact(self, ping: Ping) -> None:
        """Raise :class:`InvalidPingError` unless the payload validates against the schema."""
        try:
            payload = self.cls.__pydantic_serializer__.to_python(
                ping, mode="json", by_alias=True, warnings=False
            )
        except Exception as exc:  # PydanticSerializationError, a cycle, a huge int as float
            raise self._unserializable(ping, exc) from None
        where = _find(payload, _is_not_finite)
        if where is not None:
            raise self._invalid(where, "is NaN or infinity, which JSON cannot carry")
        self._check_integers(payload)
        if self._validator is None:
            from pingsdk.schema._validation import schema_validator

            self._validator = schema_validator(_strictest_schema(self.cls), format_check=True)
        errors = sorted(
            self._validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if errors:
            error = errors[0]
            path = list(error.absolute_path)
            if error.validator == "required":
                missing = [k for k in error.validator_value if k not in error.instance]
                path.append(missing[0] if missing else "?")
                raise self._invalid(path, "is required but missing")
            if error.validator == "additionalProperties":
                raise self._invalid(path, "has a key the schema does not declare")
            # The schema's words, never the payload's: the rule and its (schema) value.
            rule = repr(error.validator_value)
            rule = rule if len(rule) <= 80 else rule[:77] + "..."
            raise self._invalid(path, f"does not match the schema: {error.validator} {rule}")

    def _check_integers(self, payload: object) -> None:
        where = _find(payload, _is_huge_int)
        if where is not None:
            raise self._invalid(
                where,
                "is an integer outside the 64-bit range the pipeline stores "
                "(-2**63 to 2**63 - 1); send a float or a string for such values",
            )

    def _invalid(self, path: list[str | int], problem: str) -> InvalidPingError:
        field = _dotted(path)
        where = f"field {field!r}" if field else "the payload"
        return InvalidPingError(
            f"{self.cls.__qualname__}: {where} {problem}; the ping was not stored (values set "
            "after construction or with model_construct() are checked when sent)",
            ping=self.cls.__qualname__,
            field=field,
        )

    def _unserializable(self, ping: Ping, error: Exception) -> InvalidPingError:
        # Only the error's type is named: its text may quote the value.
        problem = f"holds a value that cannot be serialized to JSON ({type(error).__name__})"
        serializer = self.cls.__pydantic_serializer__
        for name in (*type(ping).model_fields, *type(ping).model_computed_fields):
            try:
                serializer.to_json(ping, include={name}, warnings=False)
            except Exception:  # looking for the field that fails; any error will do
                return self._invalid([name], problem)
        return self._invalid([], problem)


def _strictest_schema(cls: type[Ping]) -> dict[str, Any]:
    """The draft-04 schema, or the draft-06 one for a class only draft-06 can express.

    Draft-04 is the stricter: its validators refuse ``1.0`` where an ``integer`` is due, draft-06
    ones accept it. A payload valid for draft-04 is valid for both.
    """
    try:
        return model_schema(cls, draft="draft-04")
    except SchemaExportError:
        return model_schema(cls, draft="draft-06")


def _fields_prove_payload(core_schema: Mapping[str, Any]) -> bool:
    """``True`` when strict re-validation of the fields proves the payload valid (see
    :class:`_PayloadCheck`)."""
    stack: list[object] = [core_schema]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if node.get("type") in _TRANSFORMING or node.get("computed_fields"):
            return False
        if node.get("serialization") is not None:
            return False
        config = node.get("config")
        if isinstance(config, dict) and (
            config.get("use_enum_values") or config.get("extra_fields_behavior") == "allow"
        ):
            return False  # enum values are not members; extras are not fields
        if node.get("extra_behavior") == "allow":
            return False
        if any(node.get(key) for key in _STR_TRANSFORMS) or (
            isinstance(config, dict) and any(config.get(f"str_{key}") for key in _STR_TRANSFORMS)
        ):
            return False  # validation strips or re-cases the str it checks; the state is sent
        if node.get("type") == "literal" and any(
            isinstance(v, (bool, int)) for v in node.get("expected", ())
        ):
            return False  # pydantic takes True for 1 (and 1 for True); JSON Schema does not
        if _overrides_schema(node.get("metadata")):
            return False
        stack.extend(v for k, v in node.items() if k not in _OPAQUE_KEYS)
    return True


def _overrides_schema(metadata: object) -> bool:
    """Whether core-schema metadata changes the JSON Schema beyond annotations."""
    if not isinstance(metadata, dict):
        return False
    if metadata.get("pydantic_js_annotation_functions"):
        return True  # WithJsonSchema and friends
    for key in ("pydantic_js_updates", "pydantic_js_extra"):
        value = metadata.get(key)
        if callable(value) or (isinstance(value, dict) and not set(value) <= _ANNOTATIONS):
            return True
    for function in metadata.get("pydantic_js_functions", ()):
        # Pydantic's own (every model and enum has one) describe the type as validated; a
        # class overriding __get_pydantic_json_schema__ may say anything.
        module = getattr(getattr(function, "__func__", function), "__module__", None) or ""
        if module != "pydantic" and not module.startswith("pydantic."):
            return True
    return False


class _HugeInt:
    """What :func:`json.loads` gives for an integer outside 64 bits (never parsed: the text may
    be over Python's 4,300-digit limit)."""


def _parse_int(text: str) -> object:
    if len(text) > 20 or not INT64_MIN <= int(text) <= INT64_MAX:
        return _HugeInt()
    return 0


def _is_huge_int(value: object) -> bool:
    if isinstance(value, _HugeInt):
        return True
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not INT64_MIN <= value <= INT64_MAX
    )


def _is_not_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _find(value: object, predicate: typing.Callable[[object], bool]) -> list[str | int] | None:
    """The path to the first value in a JSON-like tree for which ``predicate`` holds."""
    stack: list[tuple[list[str | int], object]] = [([], value)]
    while stack:
        path, node = stack.pop()
        if predicate(node):
            return path
        if isinstance(node, dict):
            stack.extend(([*path, key], item) for key, item in reversed(node.items()))
        elif isinstance(node, (list, tuple)):
            stack.extend(([*path, i], item) for i, item in reversed(list(enumerate(node))))
    return None


def _dotted(path: typing.Sequence[str | int]) -> str | None:
    """``["a", 2, "b"]`` -> ``"a[2].b"``; ``None`` for the root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


_P = TypeVar("_P", bound="Ping")


class Ping(BaseModel, metaclass=_PingMeta):
    """Base class of every ping: a Pydantic model with a pipeline identity.

    Declare a ping with class keywords::

        from pydantic import Field
        import pingsdk

        class SearchCounts(pingsdk.Ping, namespace="my-app", doctype="search-counts", version=1):
            \"\"\"Daily search counts per engine, to learn which engines people actually use.\"\"\"

            engine: str = Field(description="Search engine identifier.")
            count: int = Field(ge=0, description="Searches in the period.")

        ping = SearchCounts(engine="ddg", count=3)
        assert ping.to_json_bytes() == b'{"engine":"ddg","count":3}'

    Class keywords:
        namespace, doctype: lowercase kebab-case (``[a-z0-9-]``, no leading/trailing ``-``).
        version: a positive int, at most 2**63 - 1.
        review: a :class:`DataReview` with the data-review facts.
        examples / fail_examples: ``{"test-name": {payload}}`` written as validation examples.
        additional_properties: open the schema (and the model) to unknown keys; default closed.
        legacy_telemetry: required to use the reserved ``telemetry`` namespace.
        pipeline_metadata: extra ``mozPipelineMetadata`` keys, e.g.
            ``{"submission_timestamp_granularity": "seconds"}``.
        monitor: a :class:`DocTypeMonitor` with the docType monitor's thresholds.
        registry: a :class:`PingRegistry` other than :data:`default_registry`.

    Construction validates (``pydantic.ValidationError`` on bad values). Serialization
    (:meth:`to_json_bytes`) is compact UTF-8 JSON using aliases, with every field present:
    defaults are written out and ``None`` is written as ``null`` (the exported schema allows
    ``null`` exactly for ``Optional`` fields), so a payload means the same to every reader.
    A class with a field no JSON Schema can describe is refused when it is defined, and a
    payload the exported schema would refuse (values that went around validation) is refused
    by :meth:`to_json_bytes` with :class:`InvalidPingError`.

    Added in 0.1.
    """

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=True,
        ser_json_bytes="base64",
    )

    __ping_info__: ClassVar[PingInfo | None] = None

    @classmethod
    def ping_info(cls) -> PingInfo:
        """The ping's identity and declared facts; raises for an abstract base class."""
        info = cls.__dict__.get("__ping_info__")
        if info is None:
            raise PingDefinitionError(
                f"{cls.__qualname__} is an abstract ping base (no doctype/version declared)"
            )
        return typing.cast(PingInfo, info)

    @classmethod
    def is_abstract(cls) -> bool:
        """``True`` for a base class without a full identity (not sendable, not exported)."""
        return cls.__dict__.get("__ping_info__") is None

    @classmethod
    def __pydantic_on_complete__(cls) -> None:
        # A class with an unresolved forward reference is built later (model_rebuild() or
        # first use); the metaclass checks every other class itself, before registering it.
        if cls.__dict__.get("__ping_info__") is not None:
            _ensure_exportable(cls)
        # A rebuilt class is classified again when next sent.
        cls.__ping_payload_check__ = None  # type: ignore[attr-defined]

    def to_json_bytes(self) -> bytes:
        """The exact JSON bytes that are sent: compact, UTF-8, aliases, every field present.

        The payload is proved valid against the class's exported schema first, so values that
        bypassed validation (assigned after construction, changed in place, or given to
        ``model_construct()``) are never sent.

        Raises:
            InvalidPingError: a value the schema refuses (wrong type, broken constraint, missing
                field, NaN or infinity), an integer outside -2**63..2**63-1, or a value that
                cannot be serialized. The message names the field, never its value.
        """
        check = type(self).__dict__.get("__ping_payload_check__") or _PayloadCheck.of(type(self))
        return typing.cast(_PayloadCheck, check).encode(self)

    def to_payload(self) -> dict[str, Any]:
        """The payload as a JSON-compatible dict (what :meth:`to_json_bytes` encodes)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json_bytes(cls: type[_P], data: bytes | str) -> _P:
        """Parse a payload back into this class (validates)."""
        return cls.model_validate_json(data)

    @classmethod
    def is_expired(cls, today: datetime.date | None = None) -> bool:
        """``True`` once the declared ``review.expires`` date has passed."""
        expires = cls.ping_info().review.expires
        return expires is not None and (today or datetime.date.today()) > expires
