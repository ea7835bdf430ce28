"""A ping's ``monitor=`` keyword, checked against the monitor's rules and the ping's fields.

The thresholds must pass the monitor's own ``setup()`` (and never be values it accepts but
cannot act on); the creation-time and channel fields must exist on the ping with a type the
monitor can read; the alerts need recipients.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import typing
from typing import Literal

from pydantic import BaseModel

from pingsdk._exceptions import PingDefinitionError
from pingsdk.monitoring._thresholds import (
    THRESHOLD_TYPES,
    ChannelThresholds,
    DocTypeMonitor,
    is_number,
    setup_problems,
)

if typing.TYPE_CHECKING:
    from pingsdk._model._ping import Ping
    from pingsdk._model._review import DataReview

__all__ = ["resolve_monitor"]

LEGACY_CREATION_FIELD = "creationDate"
LEGACY_CHANNEL_FIELD = "application.channel"
"""What the pipeline's telemetry decoder (moz_ingest/telemetry.lua) reads for a legacy ping:
``Fields[creationTimestamp]`` from ``creationDate`` and ``Fields[appUpdateChannel]`` from
``application.channel``."""


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
    _check_types(where, value)
    table = value.thresholds_table()
    _check_thresholds(where, value, table)
    creation = _settle_field(where, "creation_field", value.creation_field, cls, legacy)
    channel_field = _settle_field(where, "channel_field", value.channel_field, cls, legacy)
    _check_fields(where, cls, table, creation, channel_field)
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


def _check_types(where: str, value: DocTypeMonitor) -> None:
    """Every channel a :class:`ChannelThresholds`, every alert type its threshold class."""
    for channel in ("release", "beta", "nightly", "aurora", "esr", "other"):
        ct = getattr(value, channel)
        if ct is not None and not isinstance(ct, ChannelThresholds):
            raise PingDefinitionError(
                f"{where}.{channel} must be a pingsdk.monitoring.ChannelThresholds"
            )
        if ct is None:
            continue
        for alert, kind in THRESHOLD_TYPES.items():
            got = getattr(ct, alert)
            if got is not None and not isinstance(got, kind):
                raise PingDefinitionError(
                    f"{where}.{channel}.{alert} must be a pingsdk.monitoring.{kind.__name__}"
                )


def _check_thresholds(
    where: str, value: DocTypeMonitor, table: dict[str, dict[str, dict[str, float]]]
) -> None:
    """The numbers: at least one, accepted by ``setup()``, and able to fire."""
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
    if not (is_number(value.throttle) and value.throttle > 0):
        raise PingDefinitionError(f"{where}: throttle must be a number of minutes > 0")
    for flag in ("prefix", "disabled"):
        if not isinstance(getattr(value, flag), bool):
            raise PingDefinitionError(f"{where}: {flag} must be True or False")


def _check_fields(
    where: str,
    cls: type[Ping],
    table: dict[str, dict[str, dict[str, float]]],
    creation: str | None,
    channel_field: str | None,
) -> None:
    """The settled fields have types the monitor reads, and are there where thresholds need them."""
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
