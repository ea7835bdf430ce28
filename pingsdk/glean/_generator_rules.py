"""The rules the pipeline's schema generator follows to build a Glean application's tables.

mozilla/mozilla-schema-generator builds one JSON schema per application and ping from the
``glean.1`` schema and the metrics probe-scraper read from the application's ``metrics.yaml``
files; the pipeline then transpiles it into the BigQuery table. This module restates its rules
(``glean_ping.py``, ``generic_ping.py``, ``probes.py``, ``schema.py``, ``config.py``,
``matcher.py``, ``configs/glean.yaml``) and probe-scraper's (``parsers/metrics.py``,
``parsers/pings.py``, ``runner.py``), each where it applies, so that the result is the same
schema for the same metric list. Nothing here reads YAML or writes files.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from pingsdk._exceptions import ConfigurationError

__all__ = [
    "ALL_PINGS",
    "RENAMED_TYPES",
    "GeneratorMetric",
    "base_schema",
    "column_type",
    "generate_schema",
    "normalize_ping_name",
    "pipeline_metadata",
]

GLEAN_SCHEMA = "glean.1.schema.json"
GLEAN_MIN_SCHEMA = "glean-min.1.schema.json"

RENAMED_TYPES: Mapping[str, str] = {
    "jwe": "jwe2",
    "labeled_rate": "labeled_rate2",
    "text": "text2",
    "url": "url2",
}
"""Metric types whose column is ``metrics.<type>2`` (bug 1737656).

They were first deployed to BigQuery with the wrong structure; every table created since has
them under the ``2`` name, and the pipeline moves the payload's ``metrics.<type>`` there before
loading (``glean_ping.py``: the ``bug_1737656_affected`` matchers never match, the ``<type>2``
matchers take the metrics). Only tables listed in the generator's
``bug_1737656_affected.txt``, all older than November 2021, keep the old layout.
"""

ALL_PINGS = ("all-pings", "all_pings")
"""``send_in_pings`` values meaning every ping of the application (``GleanProbe``)."""

# configs/glean.yaml: every matcher has `send_in_pings: not: [glean_ping_info]`, which excludes
# a metric whose send_in_pings is exactly that list (matcher.py compares the whole value).
_EXCLUDED_SEND_IN_PINGS = ["glean_ping_info"]

# probe-scraper's parsers/pings.py: old snake_case ping names are renamed everywhere.
_PING_NAME_NORMALIZATION: Mapping[str, str] = {
    "deletion_request": "deletion-request",
    "bookmarks_sync": "bookmarks-sync",
    "history_sync": "history-sync",
    "session_end": "session-end",
}


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorMetric:
    """One metric as the generator sees it (a probe-scraper entry).

    Attributes:
        name: the metric identifier, ``category.name`` (glean_parser's ``identifier()``).
        type: the metric type from ``metrics.yaml`` (``counter``, ``labeled_counter``...).
        description: the description as written, trailing newline included.
        send_in_pings: ping names after glean_parser's ``default`` resolution and
            probe-scraper's normalisation; may contain ``all-pings``.
    """

    name: str
    type: str
    description: str
    send_in_pings: frozenset[str]

    def sent_in(self, ping: str, all_pings: Collection[str]) -> bool:
        """Whether the generator injects this metric into ``ping``'s table."""
        pings: Collection[str] = self.send_in_pings
        if any(keyword in pings for keyword in ALL_PINGS):
            pings = all_pings
        if sorted(pings) == _EXCLUDED_SEND_IN_PINGS:
            return False
        return ping in pings


def normalize_ping_name(name: str) -> str:
    """A ping name as probe-scraper stores it (a few old snake_case names become kebab-case)."""
    return _PING_NAME_NORMALIZATION.get(name, name)


@functools.lru_cache(maxsize=2)
def _schema_text(name: str) -> str:
    return resources.files(__package__).joinpath("data").joinpath(name).read_text(encoding="utf-8")


def base_schema(include_info_sections: bool) -> dict[str, Any]:
    """A fresh copy of the schema the generator starts from for a ping.

    ``glean.1``, or ``glean-min.1`` for pings declared with ``include_info_sections: false``
    (``GleanPing.set_schema_url``), with ``metrics.<type>2`` added as a copy of
    ``metrics.<type>`` for each of :data:`RENAMED_TYPES` (``GleanPing.get_schema``).
    """
    schema: dict[str, Any] = json.loads(
        _schema_text(GLEAN_SCHEMA if include_info_sections else GLEAN_MIN_SCHEMA)
    )
    types = schema["properties"]["metrics"]["properties"]
    for name, renamed in RENAMED_TYPES.items():
        # A shallow copy, as the generator makes: both keys share their nested dicts.
        types[renamed] = dict(types[name])
    return schema


def column_type(metric_type: str, schema: Mapping[str, Any]) -> str | None:
    """The ``metrics.<key>`` a metric type is injected under, or None if it gets no column.

    The generator refuses to run unless its configuration has one matcher per metric type of
    the Glean schema (``__main__.generate_glean_pings``), each matching the type of the same
    name, except the :data:`RENAMED_TYPES`, matched under their ``2`` name. Other types (``event``,
    recorded in the ``events`` array; ``denominator``, sent as a counter) match nothing.
    """
    key = RENAMED_TYPES.get(metric_type, metric_type)
    types = schema.get("properties", {}).get("metrics", {}).get("properties", {})
    return key if key in types else None


def pipeline_metadata(
    application_id: str, ping: str, *, include_info_sections: bool
) -> dict[str, Any]:
    """The ``mozPipelineMetadata`` probe-scraper computes for a ping of an application.

    ``bq_dataset_family`` is the sanitised application id with ``-`` -> ``_``, ``bq_table`` the
    ping name with ``-`` -> ``_`` and ``_v1``, ``bq_metadata_format`` ``structured``, and
    ``include_info_sections`` from the ping's definition (``runner.py``,
    ``GleanPing.get_pings_and_pipeline_metadata``). Repository-level settings (retention,
    ``submission_timestamp_granularity``) live in probe-scraper's ``repositories.yaml``, not in
    the YAML files, and are not added.

    Raises:
        ConfigurationError: the application id starts with ``rally`` (the ``pioneer`` metadata
            format, which pingsdk does not build).
    """
    if application_id.startswith("rally"):
        raise ConfigurationError(
            f"application id {application_id!r}: ids starting with 'rally' get the 'pioneer' "
            "metadata format, which pingsdk does not build"
        )
    return {
        "bq_dataset_family": application_id.replace("-", "_"),
        "bq_table": f"{ping.replace('-', '_')}_v1",
        "bq_metadata_format": "structured",
        "include_info_sections": include_info_sections,
    }


def _get(node: Any, path: Sequence[str]) -> Any:
    for key in path:
        node = node[key]
    return node


def _delete_group(schema: dict[str, Any], path: tuple[str, ...], *, propagate: bool) -> None:
    """``Schema.delete_group_from_schema``: delete ``path``; then, walking up, delete each
    enclosing schema left without ``properties`` and ``additionalProperties``."""
    with contextlib.suppress(KeyError):
        del _get(schema, path[:-1])[path[-1]]
    if not propagate:
        return
    for end in range(len(path) - 1, 0, -1):
        sub = path[:end]
        if sub[-1] == "properties":
            continue
        node = _get(schema, sub)  # KeyError ends the walk, as the generator's caller catches it
        if not node.get("properties") and not node.get("additionalProperties", False):
            del _get(schema, sub[:-1])[sub[-1]]


def generate_schema(
    metrics: Iterable[GeneratorMetric],
    *,
    application_id: str,
    ping: str,
    all_pings: Collection[str],
    include_info_sections: bool,
) -> dict[str, Any]:
    """The JSON schema the generator builds for one ping of an application.

    Each metric sent in ``ping`` is injected as ``metrics.<type>.properties[<name>]``: the
    Glean schema's value schema for its type (``additionalProperties``), with the metric's
    description (``GenericPing.make_schemas``, ``GleanProbe.get_schema``). Then every type's
    ``propertyNames`` and ``additionalProperties`` are deleted, and with them every type left
    without metrics (and ``metrics`` itself when no metric is left), so the table has one column
    per declared metric and none for undeclared ones. ``mozPipelineMetadata`` is updated with
    :func:`pipeline_metadata`.

    Args:
        metrics: every metric of the application (all its metrics files).
        application_id: the sanitised application id.
        ping: the ping's name.
        all_pings: every ping of the application, for ``all-pings`` metrics.
        include_info_sections: the ping's ``metadata.include_info_sections``.
    """
    env = base_schema(include_info_sections)
    final = copy.deepcopy(env)
    metric_keys = list(env["properties"]["metrics"]["properties"])
    chosen = [
        (key, metric)
        for metric in metrics
        if metric.sent_in(ping, all_pings) and (key := column_type(metric.type, env))
    ]
    # The generator sorts probes by first appearance, then name; a scrape of one revision
    # gives every metric the same date.
    for key, metric in sorted(chosen, key=lambda item: item[1].name):
        value_schema = env["properties"]["metrics"]["properties"][key]["additionalProperties"]
        # GleanProbe.get_schema writes the description into the shared value schema, then the
        # generator copies it; a metric without a description keeps its predecessor's.
        if metric.description:
            value_schema["description"] = metric.description
        type_schema = final["properties"]["metrics"]["properties"][key]
        type_schema.setdefault("properties", {})[metric.name] = copy.deepcopy(value_schema)
    for key in metric_keys:
        where = ("properties", "metrics", "properties", key)
        try:
            _delete_group(final, (*where, "propertyNames"), propagate=False)
            _delete_group(final, (*where, "additionalProperties"), propagate=True)
        except KeyError:
            pass
    final.setdefault("mozPipelineMetadata", {}).update(
        pipeline_metadata(application_id, ping, include_info_sections=include_info_sections)
    )
    return final
