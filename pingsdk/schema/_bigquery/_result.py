"""What the transpiler hands back: the columns, the fields it left out, and the ``.bq`` text."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BigQueryResult", "DroppedField", "render_bq"]


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
