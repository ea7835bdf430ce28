"""The Markdown data review request of a ping, written from the facts its class declares.

The request form has twelve questions (see ``docs/data-review.md``). Each answer comes from the
ping's :class:`DataReview` (``questions`` defaults to the class docstring) and, for the list of
measurements, from the exported JSON schema: every field with its dotted path, type,
description and data collection category. Answers the class does not give are listed as
missing, and :func:`missing_review_facts` names the mandatory ones so CI can insist on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pingsdk._model._keywords import PingInfo
from pingsdk._model._loader import real_module_name
from pingsdk._model._ping import Ping
from pingsdk._model._review import DataCategory, DataReview
from pingsdk.monitoring._config import monitor_config_name
from pingsdk.schema._reading import declared_types, iter_properties, resolve_ref

__all__ = ["MANDATORY_FACTS", "missing_review_facts", "review_request"]


@dataclasses.dataclass(frozen=True, slots=True)
class _Question:
    number: int
    text: str
    # The DataReview attribute(s) that answer it; described for the "missing" list.
    facts: tuple[str, ...]


QUESTIONS = (
    _Question(1, "What questions will you answer with this data?", ("questions",)),
    _Question(
        2,
        "Why does Mozilla need to answer these questions? Are there benefits for users?",
        ("why",),
    ),
    _Question(
        3,
        "What alternative methods did you consider to answer these questions? "
        "Why were they not sufficient?",
        ("alternatives",),
    ),
    _Question(
        4, "Can current instrumentation answer these questions?", ("current_instrumentation",)
    ),
    _Question(
        5,
        "List all proposed measurements and indicate the category of data collection for each "
        "measurement, with the tracking bug.",
        ("category", "bugs", "field descriptions"),
    ),
    _Question(
        6,
        "Please provide a link to the documentation for this data collection which describes "
        "the ultimate data set in a public, complete, and accurate way.",
        ("documentation",),
    ),
    _Question(
        7,
        "How long will this data be collected? (until a date, or permanently with an owner)",
        ("expires", "owners"),
    ),
    _Question(8, "What populations will you measure?", ("populations",)),
    _Question(
        9,
        "If this data collection is default on, what is the opt-out mechanism for users?",
        ("default_on", "opt_out"),
    ),
    _Question(
        10, "Please provide a general description of how you will analyze this data.", ("analysis",)
    ),
    _Question(
        11, "Where do you intend to share the results of your analysis?", ("results_shared",)
    ),
    _Question(
        12,
        "Is there a third-party tool (i.e. not Glean or Telemetry) that you are proposing to use "
        "for this data collection?",
        ("third_party",),
    ),
)

MANDATORY_FACTS: tuple[str, ...] = (
    "questions",
    "why",
    "alternatives",
    "current_instrumentation",
    "category",
    "bugs",
    "field descriptions",
    "documentation",
    "owners",
    "populations",
    "default_on",
    "opt_out",
    "analysis",
    "results_shared",
    "third_party",
)
"""Facts without which ``pingsdk review --check`` fails.

Every question's answer, plus: a data category for every field (the ping's ``category`` or each
field's own), at least one tracking bug, a ``description`` on every field, at least one owner
(a permanent collection needs one and an expiring one needs someone to act on expiry), whether
the collection is ``default_on``, and ``opt_out`` when it is. ``expires`` is optional: without it
the collection is declared permanent. ``data_review`` and ``delete_after_days`` are optional.
"""


@dataclasses.dataclass(frozen=True, slots=True)
class _Row:
    path: str
    type: str
    description: str | None
    category: DataCategory | None
    own_category: bool


def _rows(schema: Mapping[str, Any], info: PingInfo) -> list[_Row]:
    return list(_walk(schema, schema, "", info, 0))


def _walk(
    node: Mapping[str, Any], root: Mapping[str, Any], prefix: str, info: PingInfo, depth: int
) -> Iterator[_Row]:
    if depth > 32:
        return
    for name, sub, _required in iter_properties(node, root):
        path = prefix + name
        own = info.field_categories.get(path)
        description = sub.get("description")
        yield _Row(
            path=path,
            type=_type_text(sub, root),
            description=description if isinstance(description, str) and description else None,
            category=own or info.review.category,
            own_category=own is not None,
        )
        # Lists and maps are transparent in dotted paths, as in PingInfo.field_categories.
        for inner in _containers(sub, root):
            yield from _walk(inner, root, path + ".", info, depth + 1)


def _containers(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if schema.get("properties"):
        yield schema
        return
    for key in ("items", "additionalProperties"):
        inner = resolve_ref(schema.get(key), root)
        if isinstance(inner, Mapping):
            yield from _containers(inner, root)


def _type_text(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int = 0) -> str:
    types = declared_types(schema) or frozenset()
    core = sorted(types - {"null"})
    nullable = " or null" if "null" in types else ""
    if depth > 8:
        return "…"
    if core == ["array"]:
        items = resolve_ref(schema.get("items"), root)
        inner = _type_text(items, root, depth + 1) if isinstance(items, Mapping) else "any"
        return f"array of {inner}{nullable}"
    if core == ["object"] and not schema.get("properties"):
        value = resolve_ref(schema.get("additionalProperties"), root)
        if isinstance(value, Mapping):
            return f"map of {_type_text(value, root, depth + 1)}{nullable}"
    text = " or ".join(core) if core else "any"
    if isinstance(schema.get("format"), str):
        text += f" ({schema['format']})"
    if isinstance(schema.get("enum"), list):
        text += " enum"
    return text + nullable


def _cell(text: str | None) -> str:
    if not text:
        return "*missing*"
    return " ".join(text.split()).replace("|", "\\|")


def _indent(text: str) -> str:
    # Four spaces keep every answer inside its list item, also after "10. ".
    return "\n".join(("    " + line) if line.strip() else "" for line in text.splitlines())


def _missing(what: str) -> str:
    return f"*Missing: {what}.*"


def _export(ping_cls: type[Ping]) -> dict[str, Any]:
    from pingsdk.schema._export import (
        export_schema,  # imported late: the export imports the model machinery
    )

    return export_schema(ping_cls)


def missing_review_facts(
    ping_cls: type[Ping], *, schema: Mapping[str, Any] | None = None
) -> list[str]:
    """The mandatory data review facts ``ping_cls`` does not declare (see :data:`MANDATORY_FACTS`).

    Args:
        ping_cls: a concrete Ping class.
        schema: its JSON schema; exported with ``export_schema`` when omitted.

    Returns:
        One line per missing fact, naming the :class:`DataReview` argument (or the field) and
        the question it answers; empty when the request is complete.
    """
    info = ping_cls.ping_info()
    rows = _rows(schema if schema is not None else _export(ping_cls), info)
    return _missing_facts(info.review, rows)


_ANSWERS: dict[str, Callable[[DataReview], object]] = {
    "questions": lambda r: r.questions,
    "why": lambda r: r.why,
    "alternatives": lambda r: r.alternatives,
    "current_instrumentation": lambda r: r.current_instrumentation,
    "documentation": lambda r: r.documentation,
    "populations": lambda r: r.populations,
    "analysis": lambda r: r.analysis,
    "results_shared": lambda r: r.results_shared,
    "third_party": lambda r: r.third_party,
}


def _missing_facts(review: DataReview, rows: list[_Row]) -> list[str]:
    out: list[str] = []
    for question in QUESTIONS:
        where = f"question {question.number}"
        for fact in question.facts:
            getter = _ANSWERS.get(fact)
            if getter is not None and not getter(review):
                hint = " (or a class docstring)" if fact == "questions" else ""
                out.append(f"DataReview({fact}=...){hint}: {where}")
        if question.number == 5:
            uncategorized = [r.path for r in rows if r.category is None]
            if review.category is None and (uncategorized or not rows):
                out.append(
                    "DataReview(category=...) or a DataCategory on each field "
                    f"(none on {', '.join(uncategorized) or 'the ping'}): {where}"
                )
            if not review.bugs:
                out.append(f"DataReview(bugs=...) with a tracking bug URL: {where}")
            out.extend(
                f"description of field {r.path!r}: {where}" for r in rows if not r.description
            )
        elif question.number == 7 and not review.owners:
            out.append(f"DataReview(owners=...) answerable for the data: {where}")
        elif question.number == 9:
            if review.default_on is None:
                out.append(f"DataReview(default_on=...) True or False: {where}")
            elif review.default_on and not review.opt_out:
                out.append(f"DataReview(opt_out=...) for a default-on collection: {where}")
    return out


def review_request(ping_cls: type[Ping], *, schema: Mapping[str, Any] | None = None) -> str:
    """The Markdown data review request for ``ping_cls``.

    A header with the ping's identity and its highest data collection category, then the twelve
    questions of the request form answered from the class's :class:`DataReview` (the first from
    its docstring unless ``questions`` is given), question 5 as a table of every field (dotted
    path, type, description, category: the field's own or the ping's), and a closing list of
    the mandatory facts still missing (:func:`missing_review_facts`).

    Args:
        ping_cls: a concrete Ping class.
        schema: its JSON schema; exported with ``export_schema`` when omitted.

    Returns:
        Markdown text ending in a newline.
    """
    info = ping_cls.ping_info()
    review = info.review
    rows = _rows(schema if schema is not None else _export(ping_cls), info)
    missing = _missing_facts(review, rows)
    category = info.category
    lines = [
        f"# Data review request: {info.namespace}/{info.doctype} version {info.version}",
        "",
        f"- **Data collection category:** {category.label if category else '*missing*'}"
        + (" (the highest of the ping and its fields)" if category else ""),
        f"- **Ping class:** `{real_module_name(ping_cls.__module__)}.{ping_cls.__qualname__}`",
        f"- **Owners:** {', '.join(review.owners) or '*missing*'}",
        f"- **Tracking bugs:** {', '.join(review.bugs) or '*missing*'}",
        f"- **Collected until:** {review.expires.isoformat() if review.expires else 'permanent'}",
    ]
    if review.delete_after_days is not None:
        lines.append(f"- **Retention:** deleted after {review.delete_after_days} days")
    if review.data_review:
        lines.append(f"- **Data review:** {review.data_review}")
    lines.append("")
    lines.append("## Request")
    for question in QUESTIONS:
        lines += [
            "",
            f"{question.number}. **{question.text}**",
            "",
            _indent(_answer(question, review, rows)),
        ]
    lines += ["", "## Monitoring", "", *_monitoring(info)]
    lines += ["", "## Missing answers", ""]
    lines += [f"- {m}" for m in missing] if missing else ["None: every mandatory fact is declared."]
    return "\n".join(lines) + "\n"


def _monitoring(info: PingInfo) -> list[str]:
    """The docType monitor step: where its configuration comes from and what it alerts on."""
    monitor = info.monitor
    if monitor is None:
        return [
            "*No docType monitor thresholds declared* (declare "
            "`monitor=pingsdk.monitoring.DocTypeMonitor(...)` on the ping; "
            "`pingsdk schema monitor` then "
            "writes the configuration ops deploy)."
        ]
    lines = [
        f"- **docType monitor configuration:** `{monitor_config_name(info)}` for "
        "`moz_telemetry_doctype_monitor.lua`, written by `pingsdk schema monitor`; alerts to "
        + (", ".join(monitor.recipients) if not monitor.disabled else "nobody (disabled)")
    ]
    for channel, row in monitor.thresholds_table().items():
        parts = [_threshold_text(alert, settings) for alert, settings in row.items()]
        lines.append(f"- **{channel}:** " + "; ".join(parts))
    return lines


def _threshold_text(alert: str, s: Mapping[str, float]) -> str:
    if alert == "volume":
        text = f"volume: no valid data for {s['inactivity_timeout']:g} minutes"
        if "percent_delta" in s:
            text += f", or a day's count {s['percent_delta']:g}% away from a week earlier"
        return text
    if alert == "size":
        return (
            f"size: a daily average more than {s['percent_delta']:g}% away from "
            f"{s['average']:g} bytes"
        )
    if alert == "ingestion_error":
        return f"ingestion errors above {s['percent']:g}% in an hour"
    if alert == "duplicate":
        return f"duplicates above {s['percent']:g}% in a day"
    if alert == "shape":
        return f"daily shape (SAX distance) above {s['mindist']:g} from a week earlier"
    return f"latency: more than {s['percent']:g}% arriving over {s['hours']:g} hours after creation"


def _text(value: str | None, what: str) -> str:
    return value.strip() if value else _missing(what)


def _answer(question: _Question, review: DataReview, rows: list[_Row]) -> str:
    number = question.number
    if number == 5:
        return _measurements(review, rows)
    if number == 7:
        owners = ", ".join(review.owners) if review.owners else None
        if review.expires is not None:
            text = f"Until {review.expires.isoformat()} (a time-limited collection)."
            if owners:
                text += f" Owners: {owners}."
        else:
            text = "Permanently" + (f", monitored by {owners}." if owners else ".")
        if not owners:
            text += " " + _missing("an owner (DataReview owners=)")
        if review.delete_after_days is not None:
            text += f" Data is deleted {review.delete_after_days} days after collection."
        return text
    if number == 9:
        if review.default_on is None:
            return _missing("whether the collection is default on (DataReview default_on=)")
        if not review.default_on:
            return "The collection is not default on." + (
                f" {review.opt_out.strip()}" if review.opt_out else ""
            )
        return "The collection is default on. " + _text(
            review.opt_out, "the opt-out mechanism (DataReview opt_out=)"
        )
    fact = question.facts[0]
    value = _ANSWERS[fact](review)
    hint = (
        "DataReview questions= or the class docstring"
        if fact == "questions"
        else (f"DataReview {fact}=")
    )
    return _text(value if isinstance(value, str) else None, hint)


def _measurements(review: DataReview, rows: list[_Row]) -> str:
    bugs = ", ".join(review.bugs) if review.bugs else _missing("a tracking bug (DataReview bugs=)")
    lines = [
        f"Tracking bug: {bugs}",
        "",
        "| Field | Type | Description | Category |",
        "|---|---|---|---|",
    ]
    for row in rows:
        if row.category is None:
            category = "*missing*"
        else:
            category = row.category.label + ("" if row.own_category else " (ping)")
        lines.append(f"| `{row.path}` | {row.type} | {_cell(row.description)} | {category} |")
    if not rows:
        lines.append("| *(no fields)* | | | |")
    return "\n".join(lines)
