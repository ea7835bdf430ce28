"""The docType monitor's thresholds: the alert types per channel and the rules they obey.

A ping declares them with ``monitor=`` (checked by ``_resolve.py``, rendered as the ``.cfg`` ops
deploy by ``_config.py``).

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
import math
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "ALERT_TYPES",
    "CHANNELS",
    "THRESHOLD_TYPES",
    "ChannelThresholds",
    "DocTypeMonitor",
    "DuplicateThreshold",
    "IngestionErrorThreshold",
    "LatencyThreshold",
    "ShapeThreshold",
    "SizeThreshold",
    "Threshold",
    "VolumeThreshold",
    "is_number",
    "normalize_channel",
    "setup_problems",
]

CHANNELS = ("Other", "release", "beta", "nightly", "aurora", "esr")
"""The monitor's normalized channel names, in its column order (normalize.lua)."""

ALERT_TYPES = ("volume", "size", "ingestion_error", "duplicate", "shape", "latency")
"""Alert types in the order pingsdk renders and evaluates them."""


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
"""Any one alert type's thresholds."""

THRESHOLD_TYPES: dict[str, type[Any]] = {
    "volume": VolumeThreshold,
    "size": SizeThreshold,
    "ingestion_error": IngestionErrorThreshold,
    "duplicate": DuplicateThreshold,
    "shape": ShapeThreshold,
    "latency": LatencyThreshold,
}
"""The threshold class of each alert type."""


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


def is_number(value: object) -> bool:
    """Whether ``value`` is a number the monitor's Lua accepts (finite; a bool is not one)."""
    # NaN and infinities cannot be written as a Lua literal.
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _in_range(value: object, top: float) -> bool:
    return is_number(value) and 0 < typing.cast(float, value) <= top


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
                need(is_number(cfg.get("average")), "average")
                need(_in_range(cfg.get("percent_delta"), 100), "percent_delta (1-100)")
            elif at in ("ingestion_error", "duplicate"):
                need(_in_range(cfg.get("percent"), 100), "percent (1-100)")
            elif at == "shape":
                need(is_number(cfg.get("mindist")), "mindist")
            elif at == "latency":
                need(_in_range(cfg.get("hours"), 192), "hours (1-192)")
                need(_in_range(cfg.get("percent"), 100), "percent (1-100)")
            else:
                problems.append(f"invalid alert type {at}")
    return problems
