"""assert_valid(): check a payload against its Ping class's exported schema, readably."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from pingsdk._model._ping import Ping
from pingsdk.schema._export import export_schema
from pingsdk.schema._validation import ValidationIssue, schema_validator, validate_payload
from pingsdk.testing._capture import CapturedPing

__all__ = ["assert_valid"]

_SHOWN = 20  # errors listed in one failure message; the count says how many more


@functools.lru_cache(maxsize=256)
def _validator(ping_cls: type[Ping], draft: str, format_check: bool) -> Any:
    return schema_validator(export_schema(ping_cls, draft=draft), format_check=format_check)


def _payload_and_class(
    ping_or_payload: object, ping_cls: type[Ping] | None
) -> tuple[Any, type[Ping]]:
    if isinstance(ping_or_payload, Ping):
        cls = ping_cls or type(ping_or_payload)
        # The exact bytes a client sends, read back: what the pipeline will validate.
        return json.loads(ping_or_payload.to_json_bytes()), cls
    if isinstance(ping_or_payload, CapturedPing):
        return ping_or_payload.payload, ping_cls or ping_or_payload.ping_class
    if ping_cls is None:
        raise TypeError(
            "assert_valid() needs ping_cls= to know which schema a raw payload should match, "
            "e.g. assert_valid(payload, SearchCounts)"
        )
    if isinstance(ping_or_payload, (bytes, bytearray, str)):
        return json.loads(ping_or_payload), ping_cls
    if isinstance(ping_or_payload, Mapping):
        return dict(ping_or_payload), ping_cls
    raise TypeError(
        "assert_valid() takes a Ping instance, a captured ping, a dict payload or JSON text, "
        f"not {type(ping_or_payload).__name__}"
    )


def assert_valid(
    ping_or_payload: Ping | CapturedPing | Mapping[str, Any] | bytes | str,
    ping_cls: type[Ping] | None = None,
    *,
    draft: str = "draft-04",
    format_check: bool = False,
) -> None:
    """Assert that a payload matches the schema exported from its Ping class.

    The schema is the one ``pingsdk schema export`` writes (and the pipeline validates with),
    so this catches what the model alone cannot: a payload built by hand, a field the draft
    expresses differently, a captured request body.

    Args:
        ping_or_payload: a Ping instance (its exact JSON bytes are checked), a
            :class:`CapturedPing`, a ``dict`` payload, or JSON text.
        ping_cls: the Ping class whose schema applies; required for a dict or JSON text,
            defaults to the instance's class or the captured ping's registered class.
        draft: the JSON Schema draft to export (``"draft-04"`` or ``"draft-06"``).
        format_check: also assert ``format`` keywords (``date-time``, ...); the schema
            repository's tests do not.

    Raises:
        AssertionError: listing every error as ``$.json.path: message`` (messages may quote
            the offending values: this is a test helper).
        TypeError: a raw payload without ``ping_cls``.
        SchemaExportError: ``ping_cls`` cannot be exported to ``draft``.

    Example::

        from pingsdk.testing import assert_valid

        assert_valid(SearchCounts(engine="ddg", count=3))
        assert_valid({"engine": "ddg", "count": 3}, SearchCounts)
    """
    payload, cls = _payload_and_class(ping_or_payload, ping_cls)
    issues = validate_payload(_validator(cls, draft, format_check), payload)
    if issues:
        raise AssertionError(_message(cls, draft, issues))


def _message(cls: type[Ping], draft: str, issues: list[ValidationIssue]) -> str:
    info = cls.ping_info()
    lines = [
        f"payload does not match the {draft} schema of {cls.__qualname__} "
        f"({info.namespace}/{info.doctype}/{info.version}): {len(issues)} error(s)"
    ]
    lines += [f"  {issue}" for issue in issues[:_SHOWN]]
    if len(issues) > _SHOWN:
        lines.append(f"  ... and {len(issues) - _SHOWN} more")
    return "\n".join(lines)
