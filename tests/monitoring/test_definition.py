"""``monitor=`` is checked when the Ping class is defined, with the monitor's own rules."""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any, Literal

import pytest
from pydantic import AwareDatetime, BaseModel, Field

import pingsdk
from pingsdk.monitoring._thresholds import normalize_channel

OWNER = pingsdk.DataReview(owners=("owner@example.com",))


class Channel(str, enum.Enum):
    """A channel enum."""

    RELEASE = "release"
    BETA = "beta"


class Env(BaseModel):
    """Where the ping ran."""

    channel: Channel = Field(description="Channel.")
    started: AwareDatetime = Field(alias="startedAt", description="Start.")


def define(monitor: Any, *, review: pingsdk.DataReview = OWNER) -> type[pingsdk.Ping]:
    class Defined(
        pingsdk.Ping,
        namespace="monitoring-test",
        doctype="defined",
        version=1,
        review=review,
        registry=pingsdk.PingRegistry(),
        monitor=monitor,
    ):
        """A test ping."""

        created: AwareDatetime = Field(description="Creation time.")
        channel: Literal["release", "beta"] = Field(description="Channel.")
        env: Env | None = Field(default=None, description="Environment.")
        count: int = Field(default=0, description="A number.")

    return Defined


def release(**kwargs: Any) -> pingsdk.monitoring.DocTypeMonitor:
    return pingsdk.monitoring.DocTypeMonitor(
        release=pingsdk.monitoring.ChannelThresholds(**kwargs), channel_field="channel"
    )


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        (
            {"volume": pingsdk.monitoring.VolumeThreshold()},
            "channel: release alert: volume must contain a numeric inactivity_timeout (1-60)",
        ),
        (
            {"volume": pingsdk.monitoring.VolumeThreshold(inactivity_timeout=60.5)},
            "channel: release alert: volume must contain a numeric inactivity_timeout (1-60)",
        ),
        (
            {"volume": pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5, percent_delta=0)},
            "channel: release alert: volume must contain a numeric percent_delta (1-100)",
        ),
        (
            {"size": pingsdk.monitoring.SizeThreshold(percent_delta=10)},
            "channel: release alert: size must contain a numeric average",
        ),
        (
            {"size": pingsdk.monitoring.SizeThreshold(average=100)},
            "channel: release alert: size must contain a numeric percent_delta (1-100)",
        ),
        (
            {"ingestion_error": pingsdk.monitoring.IngestionErrorThreshold(percent=100.5)},
            "channel: release alert: ingestion_error must contain a numeric percent (1-100)",
        ),
        (
            {"duplicate": pingsdk.monitoring.DuplicateThreshold(percent=True)},
            "channel: release alert: duplicate must contain a numeric percent (1-100)",
        ),
        (
            {"shape": pingsdk.monitoring.ShapeThreshold(mindist=float("nan"))},
            "channel: release alert: shape must contain a numeric mindist",
        ),
        (
            {"latency": pingsdk.monitoring.LatencyThreshold(hours=200, percent=5)},
            "channel: release alert: latency must contain a numeric hours (1-192)",
        ),
    ],
)
def test_setup_rules_name_the_class_channel_and_field(
    thresholds: dict[str, Any], message: str
) -> None:
    monitor = dataclasses.replace(release(**thresholds), creation_field="created")
    with pytest.raises(pingsdk.PingDefinitionError) as caught:
        define(monitor)
    text = str(caught.value)
    assert text.startswith("define.<locals>.Defined: monitor: " + message)


def test_missing_average_points_at_suggest() -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="monitor --suggest"):
        define(release(size=pingsdk.monitoring.SizeThreshold(percent_delta=10)))


def test_an_inactivity_timeout_that_can_never_fire_is_refused() -> None:
    # setup() accepts up to 60, but 60 - (minutes with data, at least 1) > 59 never holds.
    with pytest.raises(pingsdk.PingDefinitionError, match="must be below 59 minutes"):
        define(release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=59)))
    assert define(release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=58.5)))


def test_zero_average_refused() -> None:
    # setup() accepts 0, but every size check would then divide by zero.
    with pytest.raises(pingsdk.PingDefinitionError, match="size average must not be 0"):
        define(release(size=pingsdk.monitoring.SizeThreshold(average=0, percent_delta=10)))


def test_defaults_are_the_monitors() -> None:
    cls = define(release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)))
    monitor = cls.ping_info().monitor
    assert monitor is not None
    assert monitor.thresholds_table() == {"release": {"volume": {"inactivity_timeout": 5}}}
    assert (monitor.throttle, monitor.prefix, monitor.disabled) == (1440, True, False)
    # Recipients default to the data review's owners.
    assert monitor.recipients == ("owner@example.com",)


def test_no_recipients_refused_unless_disabled() -> None:
    quiet = pingsdk.DataReview()
    with pytest.raises(pingsdk.PingDefinitionError, match="needs alert recipients"):
        define(
            release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)), review=quiet
        )
    off = dataclasses.replace(
        release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)), disabled=True
    )
    assert define(off, review=quiet).ping_info().monitor is not None
    with pytest.raises(pingsdk.PingDefinitionError, match="e-mail addresses"):
        define(dataclasses.replace(off, recipients=("not-an-address",)))


def test_latency_needs_a_creation_field() -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="need creation_field"):
        define(release(latency=pingsdk.monitoring.LatencyThreshold(hours=24, percent=5)))


def test_named_channels_need_a_channel_field() -> None:
    monitor = pingsdk.monitoring.DocTypeMonitor(
        beta=pingsdk.monitoring.ChannelThresholds(
            duplicate=pingsdk.monitoring.DuplicateThreshold(percent=1)
        )
    )
    with pytest.raises(pingsdk.PingDefinitionError, match="'beta' need channel_field"):
        define(monitor)
    # 'Other' needs none: without a channel every submission is Other.
    other = pingsdk.monitoring.DocTypeMonitor(
        other=pingsdk.monitoring.ChannelThresholds(
            duplicate=pingsdk.monitoring.DuplicateThreshold(percent=1)
        )
    )
    assert define(other).ping_info().monitor is not None


def test_field_paths_are_checked_and_spelled_as_in_the_payload() -> None:
    base = release(latency=pingsdk.monitoring.LatencyThreshold(hours=24, percent=5))
    cls = define(
        dataclasses.replace(base, creation_field="env.started", channel_field="env.channel")
    )
    monitor = cls.ping_info().monitor
    assert monitor is not None
    assert (monitor.creation_field, monitor.channel_field) == ("env.startedAt", "env.channel")
    with pytest.raises(pingsdk.PingDefinitionError, match=re.escape("has no field 'env.nope'")):
        define(dataclasses.replace(base, creation_field="env.nope"))
    with pytest.raises(pingsdk.PingDefinitionError, match="must be a datetime"):
        define(dataclasses.replace(base, creation_field="count"))
    with pytest.raises(pingsdk.PingDefinitionError, match="must be a str, str enum or Literal"):
        define(dataclasses.replace(base, creation_field="created", channel_field="count"))


def test_wrong_types_are_named() -> None:
    with pytest.raises(
        pingsdk.PingDefinitionError,
        match=re.escape("monitor must be a pingsdk.monitoring.DocTypeMonitor"),
    ):
        define({"release": {}})
    with pytest.raises(
        pingsdk.PingDefinitionError,
        match=re.escape("release.size must be a pingsdk.monitoring.SizeThreshold"),
    ):
        define(release(size=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=1)))
    with pytest.raises(pingsdk.PingDefinitionError, match="declares no thresholds"):
        define(pingsdk.monitoring.DocTypeMonitor())
    with pytest.raises(pingsdk.PingDefinitionError, match="throttle must be"):
        define(
            dataclasses.replace(
                release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)), throttle=0
            )
        )


def test_thresholds_are_frozen() -> None:
    threshold = pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        threshold.inactivity_timeout = 6  # type: ignore[misc]


class Application(BaseModel):
    """The legacy envelope's application section."""

    channel: str = Field(description="Update channel.")


def test_legacy_pings_use_the_decoders_fields() -> None:
    monitor = pingsdk.monitoring.DocTypeMonitor(
        release=pingsdk.monitoring.ChannelThresholds(
            latency=pingsdk.monitoring.LatencyThreshold(hours=24, percent=5)
        ),
        recipients=("ops@example.com",),
    )

    class Legacy(
        pingsdk.Ping,
        namespace="telemetry",
        doctype="monitored",
        version=4,
        legacy_telemetry=True,
        registry=pingsdk.PingRegistry(),
        monitor=monitor,
    ):
        """A legacy telemetry ping."""

        creation_date: str = Field(alias="creationDate", description="Creation time.")
        application: Application = Field(description="Application.")

    info = Legacy.ping_info().monitor
    assert info is not None
    assert (info.creation_field, info.channel_field) == ("creationDate", "application.channel")

    with pytest.raises(pingsdk.PingDefinitionError, match="must be 'creationDate'"):

        class Elsewhere(
            pingsdk.Ping,
            namespace="telemetry",
            doctype="monitored",
            version=5,
            legacy_telemetry=True,
            registry=pingsdk.PingRegistry(),
            monitor=dataclasses.replace(monitor, creation_field="other"),
        ):
            """A legacy ping declaring another creation field."""

            creation_date: str = Field(alias="creationDate", description="Creation time.")
            other: str = Field(description="Another time.")
            application: Application = Field(description="Application.")


def test_subclasses_inherit_the_monitor() -> None:
    parent = define(release(volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=5)))

    class Child(parent, version=2):  # type: ignore[valid-type,misc,call-arg]
        """The next version."""

    assert Child.ping_info().monitor == parent.ping_info().monitor


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("release", "release"),
        ("beta", "beta"),
        ("beta-cdntest", "beta"),
        ("nightly", "nightly"),
        ("nightly-cck-foo", "nightly"),
        ("nightly-try", "Other"),
        ("aurora", "aurora"),
        ("esr", "esr"),
        ("release-cdntest", "Other"),
        ("default", "Other"),
        (None, "Other"),
    ],
)
def test_channel_normalization_is_the_monitors(raw: str | None, normalized: str) -> None:
    assert normalize_channel(raw) == normalized
