"""The docType monitor step: per-channel thresholds on a ping, checked and rendered as a ``.cfg``.

The pipeline's docType monitor is ``moz_telemetry_doctype_monitor.lua`` (mozilla-services/
lua_sandbox_extensions, ``moz_telemetry/sandboxes/heka/analysis/``). It is configured with a Lua
table: the docType, a message matcher, and ``alert.thresholds`` keyed by normalized channel, each
holding up to six alert types. Its ``setup()`` rejects a configuration that breaks these rules
(reproduced by :func:`setup_problems`, with the monitor's own messages):

=================  ===========================================================================
volume             ``inactivity_timeout`` a number in (0, 60] minutes; optional
                   ``percent_delta`` in (0, 100]
size               ``average`` a number (bytes); ``percent_delta`` in (0, 100]
ingestion_error    ``percent`` in (0, 100]
duplicate          ``percent`` in (0, 100]
shape              ``mindist`` a number
latency            ``hours`` in (0, 192]; ``percent`` in (0, 100]
=================  ===========================================================================

A channel not in the monitor's list (``moz_telemetry/modules/moz_telemetry/normalize.lua``:
Other, release, beta, nightly, aurora, esr) is an error, and so is an unknown alert type.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from pingsdk._exceptions import PingDefinitionError

if typing.TYPE_CHECKING:
    from pingsdk._model._keywords import PingInfo
    from pingsdk._model._ping import Ping
    from pingsdk._model._review import DataReview

__all__ = [
    "ALERT_TYPES",
    "CHANNELS",
    "ChannelThresholds",
    "DocTypeMonitor",
    "DuplicateThreshold",
    "IngestionErrorThreshold",
    "LatencyThreshold",
    "ShapeThreshold",
    "SizeThreshold",
    "VolumeThreshold",
    "monitor_config_name",
    "normalize_channel",
    "render_monitor_config",
    "resolve_monitor",
    "setup_problems",
]

CHANNELS = ("Other", "release", "beta", "nightly", "aurora", "esr")
"""The monitor's normalized channel names, in its column order (normalize.lua)."""

ALERT_TYPES = ("volume", "size", "ingestion_error", "duplicate", "shape", "latency")
"""Alert types in the order pingsdk renders and evaluates them."""

MONITOR_FILENAME = "moz_telemetry_doctype_monitor.lua"

LEGACY_CREATION_FIELD = "creationDate"
LEGACY_CHANNEL_FIELD = "application.channel"
"""What the pipeline's telemetry decoder (moz_ingest/telemetry.lua) reads for a legacy ping:
``Fields[creationTimestamp]`` from ``creationDate`` and ``Fields[appUpdateChannel]`` from
``application.channel``."""


def normalize_channel(name: object) -> str:
    """The monitor's channel for a raw channel name (``mtn.channel`` in normalize.lua).

    ``release``, ``esr`` and ``aurora`` must match exactly, ``beta`` is a prefix (``beta-cdntest``
    counts as beta), ``nightly`` is exact or ``nightly-cck-*``; anything else is ``Other``.

    >>> normalize_channel("beta-cdntest"), normalize_channel("nightly-cck-x")
    ('beta', 'nightly')
    >>> normalize_channel("Release"), normalize_channel(None)
    ('Other', 'Other')
    """
    if not isinstance(name, str):
        return "Other"
    if name in ("release", "esr", "aurora", "nightly"):
        return name
    if name.startswith("beta"):
        return "beta"
    if name.startswith("nightly-cck-"):
        return "nightly"
    return "Other"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VolumeThreshold:
    """Alert on inactivity and, optionally, on a change in daily volume.

    Attributes:
        inactivity_timeout: minutes without any valid submission (in a channel that had some in
            the last hour) before "No new valid data has been seen in N minutes"; (0, 60].
        percent_delta: alert when the last 24 hours' count differs from the same 24 hours a
            week earlier by more than this percent, (0, 100]; ``None`` (the monitor's default)
            turns the comparison off.
    """

    inactivity_timeout: float | None = None
    percent_delta: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SizeThreshold:
    """Alert when the last 24 hours' average submission size moves away from ``average``.

    Checked once the 24 hours hold at least 24,000 valid submissions.

    Attributes:
        average: the expected average size in bytes (required; ``pingsdk monitor --suggest``
            derives it from data).
        percent_delta: the allowed difference in percent, (0, 100].
    """

    average: float | None = None
    percent_delta: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IngestionErrorThreshold:
    """Alert when more than ``percent`` of the last hour's submissions failed ingestion.

    Checked once the hour holds 1,000 valid submissions or 1,000 errors.

    Attributes:
        percent: the allowed error percentage, (0, 100].
    """

    percent: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateThreshold:
    """Alert when more than ``percent`` of the last 24 hours' submissions were duplicates.

    Checked once the 24 hours hold 24,000 valid submissions or 24,000 duplicates.

    Attributes:
        percent: the allowed duplicate percentage, (0, 100].
    """

    percent: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShapeThreshold:
    """Alert when the shape of the last 24 hours' volume departs from the same day a week ago.

    The monitor turns each day's per-minute counts into a 24-letter SAX word (cardinality 6)
    and alerts when the MINDIST between the two words exceeds ``mindist``.

    Attributes:
        mindist: the allowed SAX distance (required; 0 alerts on any difference).
    """

    mindist: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LatencyThreshold:
    """Alert when more than ``percent`` of submissions arrive over ``hours`` after creation.

    Latency is receipt time minus the ping's creation time, in a one-hour tumbling window;
    checked once the window holds 1,000 submissions.

    Attributes:
        hours: the expected maximum latency, (0, 192] (the monitor counts whole hours).
        percent: the allowed percentage of later submissions, (0, 100].
    """

    hours: float | None = None
    percent: float | None = None


Threshold = (
    VolumeThreshold
    | SizeThreshold
    | IngestionErrorThreshold
    | DuplicateThreshold
    | ShapeThreshold
    | LatencyThreshold
)

_THRESHOLD_TYPES: dict[str, type[Any]] = {
    "volume": VolumeThreshold,
    "size": SizeThreshold,
    "ingestion_error": IngestionErrorThreshold,
    "duplicate": DuplicateThreshold,
    "shape": ShapeThreshold,
    "latency": LatencyThreshold,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChannelThresholds:
    """The alert types monitored for one normalized channel; ``None`` leaves a type off.

    Attributes:
        volume, size, ingestion_error, duplicate, shape, latency: the thresholds of each type.
    """

    volume: VolumeThreshold | None = None
    size: SizeThreshold | None = None
    ingestion_error: IngestionErrorThreshold | None = None
    duplicate: DuplicateThreshold | None = None
    shape: ShapeThreshold | None = None
    latency: LatencyThreshold | None = None

    def items(self) -> Iterator[tuple[str, Threshold]]:
        """``(alert type, thresholds)`` for each type set, in :data:`ALERT_TYPES` order."""
        for name in ALERT_TYPES:
            value = getattr(self, name)
            if value is not None:
                yield name, value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DocTypeMonitor:
    """The docType monitor step of a ping: thresholds per channel and what feeds them.

    Declare it on the ping with the ``monitor=`` class keyword; the class definition checks it
    against the monitor's own ``setup()`` rules and raises :class:`pingsdk.PingDefinitionError`
    naming the class, channel and field. ``pingsdk schema monitor`` writes it as the ``.cfg``
    ops deploy, and the local edge (``pingsdk serve``) raises the same alerts on its records.

    Attributes:
        release, beta, nightly, aurora, esr, other: thresholds per normalized channel
            (``aurora`` is Developer Edition; ``other`` is the monitor's ``Other``, every
            channel it does not recognise).
        creation_field: dotted payload path of the ping's creation time (a datetime, or an
            RFC 3339 string) for the latency alert. Legacy telemetry pings use
            ``creationDate``, the field the pipeline's decoder reads; required with ``latency``.
        channel_field: dotted payload path of the ping's release channel. Legacy telemetry
            pings use ``application.channel``; required for thresholds outside ``other``.
        recipients: alert e-mail addresses; default: the data review's owners.
        throttle: minutes between two alerts of one channel (the monitor's sample: once a day;
            inactivity and ingestion errors use 90 minutes whatever this says).
        prefix: prefix alerts with the Hindsight plugin name and host (the sample's ``true``).
        disabled: write the configuration with alerting switched off.
    """

    release: ChannelThresholds | None = None
    beta: ChannelThresholds | None = None
    nightly: ChannelThresholds | None = None
    aurora: ChannelThresholds | None = None
    esr: ChannelThresholds | None = None
    other: ChannelThresholds | None = None
    creation_field: str | None = None
    channel_field: str | None = None
    recipients: Sequence[str] = ()
    throttle: float = 1440
    prefix: bool = True
    disabled: bool = False

    def channels(self) -> Iterator[tuple[str, ChannelThresholds]]:
        """``(monitor channel name, thresholds)`` for each channel set, in the monitor's order."""
        for name in CHANNELS:
            value = getattr(self, "other" if name == "Other" else name)
            if value is not None:
                yield name, value

    def thresholds_table(self) -> dict[str, dict[str, dict[str, float]]]:
        """The ``alert.thresholds`` table as plain data (numbers only, unset keys left out)."""
        table: dict[str, dict[str, dict[str, float]]] = {}
        for channel, ct in self.channels():
            row: dict[str, dict[str, float]] = {}
            for alert, value in ct.items():
                row[alert] = {
                    f.name: getattr(value, f.name)
                    for f in dataclasses.fields(value)
                    if getattr(value, f.name) is not None
                }
            table[channel] = row
        return table


def _is_number(value: object) -> bool:
    # A Lua number: bool is not one; NaN and infinities cannot be written as a Lua literal.
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _in_range(value: object, top: float) -> bool:
    return _is_number(value) and 0 < typing.cast(float, value) <= top


def setup_problems(thresholds: Mapping[str, Any]) -> list[str]:
    """What the monitor's ``setup()`` would reject in an ``alert.thresholds`` table.

    ``thresholds`` maps a channel to ``{alert type: {setting: value}}`` (plain data, as loaded
    from a ``.cfg``). Each problem is the monitor's own assertion message.
    """
    problems: list[str] = []
    for channel, ccfg in thresholds.items():
        if channel not in CHANNELS:
            problems.append(f"invalid channel {channel}")
            continue
        if not isinstance(ccfg, Mapping):
            problems.append(f"channel: {channel} must be a table of alert types")
            continue
        for at, cfg in ccfg.items():
            if not isinstance(cfg, Mapping):
                problems.append(f"channel: {channel} alert: {at} must be a table")
                continue

            def need(ok: bool, what: str, channel: str = channel, at: object = at) -> None:
                if not ok:
                    problems.append(f"channel: {channel} alert: {at} must contain a numeric {what}")

            if at == "volume":
                need(_in_range(cfg.get("inactivity_timeout"), 60), "inactivity_timeout (1-60)")
                if cfg.get("percent_delta") is not None:
                    need(_in_range(cfg.get("percent_delta"), 100), "percent_delta (1-100)")
            elif at == "size":
                need(_is_number(cfg.get("average")), "average")
                need(_in_range(cfg.get("percent_delta"), 100), "percent_delta (1-100)")
            elif at in ("ingestion_error", "duplicate"):
                need(_in_range(cfg.get("percent"), 100), "percent (1-100)")
            elif at == "shape":
                need(_is_number(cfg.get("mindist")), "mindist")
            elif at == "latency":
                need(_in_range(cfg.get("hours"), 192), "hours (1-192)")
                need(_in_range(cfg.get("percent"), 100), "percent (1-100)")
            else:
                problems.append(f"invalid alert type {at}")
    return problems


def _unwrap(annotation: object) -> list[object]:
    """The non-None members of an Optional/Union annotation (Annotated is already stripped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _field_annotation(model: type[BaseModel], path: str) -> object:
    """The annotation at a dotted payload path (aliases or names), or raise ``KeyError``."""
    current: object = model
    parts = path.split(".")
    for i, part in enumerate(parts):
        models = [a for a in _unwrap(current) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not models:
            raise KeyError(".".join(parts[:i]))
        found = None
        for field_name, field in models[0].model_fields.items():
            if part in (field.serialization_alias or field.alias or field_name, field_name):
                found = field.annotation
                break
        if found is None:
            raise KeyError(".".join(parts[: i + 1]))
        current = found
    return current


def _payload_path(model: type[BaseModel], path: str) -> str:
    """``path`` with each part spelled as it appears in the payload (the field's alias)."""
    out: list[str] = []
    current: object = model
    for part in path.split("."):
        sub = next(a for a in _unwrap(current) if isinstance(a, type) and issubclass(a, BaseModel))
        for field_name, field in sub.model_fields.items():
            key = field.serialization_alias or field.alias or field_name
            if part in (key, field_name):
                out.append(key)
                current = field.annotation
                break
    return ".".join(out)


def _is_time(annotation: object) -> bool:
    def one(a: object) -> bool:
        if not isinstance(a, type):
            return False
        # pydantic's AwareDatetime and friends are marker classes, not datetime subclasses.
        pydantic_datetime = a.__module__ == "pydantic.types" and a.__name__.endswith("Datetime")
        return issubclass(a, (datetime.datetime, str)) or pydantic_datetime

    return all(one(a) for a in _unwrap(annotation))


def _is_channel(annotation: object) -> bool:
    for a in _unwrap(annotation):
        if a is str or (isinstance(a, type) and issubclass(a, str) and issubclass(a, enum.Enum)):
            continue
        if typing.get_origin(a) is Literal and all(isinstance(v, str) for v in typing.get_args(a)):
            continue
        return False
    return True


def resolve_monitor(
    name: str, value: object, cls: type[Ping], *, legacy: bool, review: DataReview
) -> DocTypeMonitor | None:
    """Check a ping's ``monitor=`` keyword; return it with fields and recipients settled.

    Raises :class:`PingDefinitionError` naming the class and what to fix.
    """
    if value is None:
        return None
    if not isinstance(value, DocTypeMonitor):
        raise PingDefinitionError(f"{name}: monitor must be a pingsdk.monitoring.DocTypeMonitor")
    where = f"{name}: monitor"
    for channel in ("release", "beta", "nightly", "aurora", "esr", "other"):
        ct = getattr(value, channel)
        if ct is not None and not isinstance(ct, ChannelThresholds):
            raise PingDefinitionError(
                f"{where}.{channel} must be a pingsdk.monitoring.ChannelThresholds"
            )
        if ct is None:
            continue
        for alert, kind in _THRESHOLD_TYPES.items():
            got = getattr(ct, alert)
            if got is not None and not isinstance(got, kind):
                raise PingDefinitionError(
                    f"{where}.{channel}.{alert} must be a pingsdk.monitoring.{kind.__name__}"
                )
    table = value.thresholds_table()
    if not table:
        raise PingDefinitionError(
            f"{where} declares no thresholds; set at least one channel, e.g. "
            "release=pingsdk.monitoring.ChannelThresholds(volume=pingsdk.monitoring.VolumeThreshold("
            "inactivity_timeout=5))"
        )
    problems = setup_problems(table)
    if problems:
        hint = ""
        if any(p.endswith("numeric average") for p in problems):
            hint = "; `pingsdk monitor --suggest` derives size.average from data"
        raise PingDefinitionError(
            f"{where}: " + "; ".join(problems) + " (the docType monitor's setup() rules: see "
            f"pingsdk.monitoring.{type(value).__name__} and its thresholds{hint})"
        )
    size_zero = [c for c, row in table.items() if row.get("size", {}).get("average") == 0]
    if size_zero:
        # setup() accepts 0, but the monitor then divides by zero on every check.
        raise PingDefinitionError(
            f"{where}: channel: {size_zero[0]} alert: size average must not be 0 (bytes)"
        )
    never = [
        c for c, row in table.items() if row.get("volume", {}).get("inactivity_timeout", 0) >= 59
    ]
    if never:
        # The monitor alerts only when more than inactivity_timeout of the hour's 60 minutes
        # were empty while at least one had data: 59 or more can never fire.
        raise PingDefinitionError(
            f"{where}: channel: {never[0]} alert: volume inactivity_timeout must be below 59 "
            "minutes: the monitor alerts only when more than that many of the last 60 minutes "
            "were empty while at least one had data, so a larger value never fires"
        )
    if not (_is_number(value.throttle) and value.throttle > 0):
        raise PingDefinitionError(f"{where}: throttle must be a number of minutes > 0")
    for flag in ("prefix", "disabled"):
        if not isinstance(getattr(value, flag), bool):
            raise PingDefinitionError(f"{where}: {flag} must be True or False")

    creation = _settle_field(where, "creation_field", value.creation_field, cls, legacy)
    channel_field = _settle_field(where, "channel_field", value.channel_field, cls, legacy)
    if creation is not None and not _is_time(_field_annotation(cls, creation)):
        raise PingDefinitionError(
            f"{where}: creation_field {creation!r} must be a datetime (or RFC 3339 str) field"
        )
    if channel_field is not None and not _is_channel(_field_annotation(cls, channel_field)):
        raise PingDefinitionError(
            f"{where}: channel_field {channel_field!r} must be a str, str enum or Literal field"
        )
    if creation is None and any("latency" in row for row in table.values()):
        raise PingDefinitionError(
            f"{where}: latency thresholds need creation_field, the payload field holding the "
            "ping's creation time (without it every latency is 0 and the alert never fires)"
        )
    named = [c for c in table if c != "Other"]
    if channel_field is None and named:
        raise PingDefinitionError(
            f"{where}: thresholds for {named[0]!r} need channel_field, the payload field "
            "holding the release channel (without it every submission counts as 'Other')"
        )
    recipients = tuple(value.recipients) or tuple(review.owners)
    if any(not isinstance(r, str) or "@" not in r for r in recipients):
        raise PingDefinitionError(f"{where}: recipients must be e-mail addresses")
    if not recipients and not value.disabled:
        raise PingDefinitionError(
            f"{where} needs alert recipients: pass recipients=(...) or declare review owners "
            "with e-mail addresses (the monitor refuses a configuration without an alert module)"
        )
    return dataclasses.replace(
        value,
        creation_field=creation,
        channel_field=channel_field,
        recipients=recipients,
    )


def _settle_field(
    where: str, kind: str, path: str | None, cls: type[Ping], legacy: bool
) -> str | None:
    fixed = LEGACY_CREATION_FIELD if kind == "creation_field" else LEGACY_CHANNEL_FIELD
    if path is not None and not isinstance(path, str):
        raise PingDefinitionError(f"{where}: {kind} must be a dotted field path (str)")
    if legacy:
        # The pipeline's decoder reads fixed paths of legacy pings; another field would be
        # monitored locally but never by the deployed monitor.
        try:
            _field_annotation(cls, fixed)
        except KeyError:
            if path is not None:
                raise PingDefinitionError(
                    f"{where}: a legacy telemetry ping's {kind} is {fixed!r} (what the "
                    f"pipeline's decoder reads), and {cls.__qualname__} has no such field"
                ) from None
            return None
        if path is not None and _payload_path(cls, path) != fixed:
            raise PingDefinitionError(
                f"{where}: a legacy telemetry ping's {kind} must be {fixed!r} (what the "
                f"pipeline's decoder reads), got {path!r}"
            )
        return fixed
    if path is None:
        return None
    try:
        _field_annotation(cls, path)
    except KeyError as exc:
        raise PingDefinitionError(
            f"{where}: {kind} {path!r}: {cls.__qualname__} has no field {exc.args[0]!r}"
        ) from None
    return _payload_path(cls, path)


def monitor_config_name(info: PingInfo) -> str:
    """``<namespace>-<doctype>.cfg``, the file ``pingsdk schema monitor`` writes for a ping."""
    return f"{info.namespace}-{info.doctype}.cfg"


def _lua_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _lua_string(value: str) -> str:
    # Lua's decimal escapes (\ddd, one byte each) for quotes, backslashes, control bytes and
    # non-ASCII UTF-8 bytes: the file stays ASCII and loads the same in any Lua.
    out = []
    for byte in value.encode("utf-8"):
        plain = 32 <= byte < 127 and byte not in (34, 92)
        out.append(chr(byte) if plain else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def render_monitor_config(ping_cls: type[Ping]) -> str:
    """The docType monitor ``.cfg`` of a ping declared with ``monitor=``, as Lua text.

    The format is the sample configuration in ``moz_telemetry_doctype_monitor.lua``'s header;
    the Lua sandbox loads it as-is. Raises :class:`PingDefinitionError` for a ping without
    ``monitor=``.
    """
    from pingsdk._version import __version__

    info = ping_cls.ping_info()
    monitor = info.monitor
    if monitor is None:
        raise PingDefinitionError(
            f"{ping_cls.__qualname__} declares no monitor=pingsdk.monitoring.DocTypeMonitor(...)"
        )
    lines = [
        f"-- docType monitor of {info.namespace}/{info.doctype} ({ping_cls.__qualname__}),",
        f"-- written by pingsdk {__version__}: a Hindsight analysis plugin configuration for",
        f"-- {MONITOR_FILENAME} (mozilla-services/lua_sandbox_extensions, moz_telemetry).",
        "-- Fields[appUpdateChannel] <- "
        + (monitor.channel_field or "(not set: every submission counts as Other)"),
        "-- Fields[creationTimestamp] <- " + (monitor.creation_field or "(not set: latency is 0)"),
        f"filename = '{MONITOR_FILENAME}'",
        f"docType = {_lua_string(info.doctype)}",
        'message_matcher = \'Fields[docType] == "\'.. docType .. \'" && (Type == "telemetry" '
        '|| Type == "telemetry.error" || Type == "telemetry.duplicate")\'',
        "ticker_interval = 60",
        "preserve_data = true",
        "",
        "alert = {",
        f"  disabled = {'true' if monitor.disabled else 'false'},",
        f"  prefix = {'true' if monitor.prefix else 'false'},",
        f"  throttle = {_lua_number(monitor.throttle)},",
        "  modules = {",
        "    email = {recipients = {"
        + ", ".join(_lua_string(r) for r in monitor.recipients)
        + "}},",
        "  },",
        "",
        "  thresholds = { -- map of normalized channel names",
    ]
    for channel, row in monitor.thresholds_table().items():
        lines.append(f"    {channel} = {{")
        for alert, settings in row.items():
            body = ", ".join(f"{k} = {_lua_number(v)}" for k, v in settings.items())
            lines.append(f"      {alert} = {{{body}}},")
        lines.append("    },")
    lines += ["  }", "}", ""]
    return "\n".join(lines)
