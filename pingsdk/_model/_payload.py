"""A Ping's payload bytes, proved valid against the class's exported schema before they go out."""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pingsdk._exceptions import InvalidPingError, PingDefinitionError, SchemaExportError
from pingsdk.schema._generator import export_problem, model_schema

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = ["INT64_MAX", "INT64_MIN", "PayloadCheck", "ensure_exportable"]


def ensure_exportable(cls: type[Ping]) -> None:
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


class PayloadCheck:
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
    def of(cls, ping_cls: type[Ping]) -> PayloadCheck:
        """The check of ``ping_cls``, built (and the class completed) on first use."""
        check = ping_cls.__dict__.get("__ping_payload_check__")
        if check is None:
            if not ping_cls.__pydantic_complete__:
                ping_cls.model_rebuild()  # raises what pydantic raises for an unresolved name
            if not ping_cls.is_abstract() and not ping_cls.__dict__.get("__ping_exportable__"):
                ensure_exportable(ping_cls)
            check = cls(ping_cls)
            ping_cls.__ping_payload_check__ = check  # type: ignore[attr-defined]
        return typing.cast(PayloadCheck, check)

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
    :class:`PayloadCheck`)."""
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
