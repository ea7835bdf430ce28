"""Two pings as a product team would declare them (used by ``make demo`` and the docs).

* :class:`SearchCounts`: the smallest useful ping.
* :class:`SessionSummary`: nested objects, enums, optionals, a ``Literal``, UUIDs, an aware
  timestamp, lists, maps, per-field data categories and a complete data review.

Export them with ``pingsdk schema export examples/pings.py --out schema-repo``.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

import pingsdk

NAMESPACE = "pingsdk-demo"

_SEARCH_REVIEW = pingsdk.DataReview(
    category=pingsdk.DataCategory.INTERACTION,
    owners=("search-team@example.com",),
    bugs=("https://bugzilla.mozilla.org/show_bug.cgi?id=1900001",),
    data_review="https://bugzilla.mozilla.org/show_bug.cgi?id=1900001#c4",
    expires=datetime.date(2027, 6, 30),
    delete_after_days=180,
    why="Knowing which engines people search with tells us which search partnerships matter.",
    alternatives="Surveys report what people remember, not what they use; counts do not lie.",
    current_instrumentation="No: no existing ping counts searches per engine.",
    documentation="https://example.com/docs/pingsdk-demo/search-counts",
    populations="All channels and locales, desktop only.",
    default_on=True,
    opt_out="Settings > Privacy > Send technical and interaction data.",
    analysis="Daily share of searches per engine, by channel, in a dashboard.",
    results_shared="The search team's dashboards, readable by all Mozilla staff.",
    third_party="none",
)


class SearchCounts(
    pingsdk.Ping,
    namespace=NAMESPACE,
    doctype="search-counts",
    version=1,
    review=_SEARCH_REVIEW,
    examples={"ddg": {"engine": "ddg", "count": 3}},
    fail_examples={"negative": {"engine": "ddg", "count": -1}},
    # The docType monitor step: `pingsdk schema monitor examples/pings.py` writes the .cfg ops
    # deploy; `pingsdk serve` raises the same alerts locally. Without a channel field every
    # submission counts as the monitor's "Other" channel.
    monitor=pingsdk.monitoring.DocTypeMonitor(
        other=pingsdk.monitoring.ChannelThresholds(
            volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=45),
            size=pingsdk.monitoring.SizeThreshold(average=26, percent_delta=20),
            ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=1),
            duplicate=pingsdk.monitoring.DuplicateThreshold(percent=2),
        ),
    ),
):
    """Daily search counts per engine, to learn which engines people actually use."""

    engine: str = Field(min_length=1, max_length=64, description="Search engine identifier.")
    count: int = Field(ge=0, description="Searches in the period.")


class Channel(str, enum.Enum):
    """Release channel of the application."""

    RELEASE = "release"
    BETA = "beta"
    NIGHTLY = "nightly"


class OperatingSystem(BaseModel):
    """The operating system the application runs on."""

    name: Literal["Linux", "Windows", "Darwin", "Android"] = Field(
        description="Operating system family."
    )
    version: str = Field(max_length=32, description="Operating system version string.")


class Environment(BaseModel):
    """Where the session ran."""

    channel: Channel = Field(description="Release channel.")
    locale: str = Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", description="UI locale, e.g. en-US.")
    os: OperatingSystem = Field(description="Operating system.")
    is_default_browser: bool | None = Field(
        default=None, description="Whether the app is the default browser; null if unknown."
    )


class Performance(BaseModel):
    """Timings measured during the session (milliseconds)."""

    # Nested models do not inherit the Ping's config: floats must refuse NaN/Infinity here too.
    model_config = ConfigDict(allow_inf_nan=False)

    startup_ms: float = Field(ge=0, description="Time from launch to first paint.")
    first_search_ms: float | None = Field(
        default=None, ge=0, description="Time to the first search; null if none."
    )


class ExperimentBranch(BaseModel):
    """Enrolment in one experiment."""

    branch: str = Field(max_length=64, description="Branch the client is enrolled in.")
    enrolled_at: AwareDatetime = Field(description="When the client enrolled.")


_SESSION_REVIEW = pingsdk.DataReview(
    category=pingsdk.DataCategory.INTERACTION,
    owners=("product-analytics@example.com", "jdoe@example.com"),
    bugs=("https://bugzilla.mozilla.org/show_bug.cgi?id=1900002",),
    data_review="https://bugzilla.mozilla.org/show_bug.cgi?id=1900002#c7",
    expires=datetime.date(2027, 12, 31),
    delete_after_days=395,
    why="Session length and tab use tell us whether the new tab strip helps people.",
    alternatives="User research covers why, not how often; it cannot replace counts.",
    current_instrumentation="No: existing pings have no per-session tab counts.",
    documentation="https://example.com/docs/pingsdk-demo/session-summary",
    populations="All channels, all locales, desktop and Android.",
    opt_out="Settings > Privacy > Send technical and interaction data.",
    default_on=True,
    analysis="Weekly dashboards of session length and tab counts by channel.",
    results_shared="The product team's public quarterly report.",
    third_party="none",
)

_SESSION_EXAMPLE = {
    "client_id": "3f5f2b9e-6d1c-4c1e-9a4a-2f0d3b1e7c55",
    "session_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "started_at": "2025-03-01T09:30:00Z",
    "duration_seconds": 1834.5,
    "end_reason": "closed",
    "environment": {
        "channel": "release",
        "locale": "en-US",
        "os": {"name": "Linux", "version": "6.8"},
        "is_default_browser": True,
    },
    "performance": {"startup_ms": 412.0, "first_search_ms": 2210.5},
    "tabs_opened": 14,
    "tab_counts": [3, 7, 14],
    "searches_by_engine": {"ddg": 4, "wikipedia": 1},
    "experiments": {
        "new-tab-strip": {"branch": "treatment", "enrolled_at": "2025-02-20T12:00:00+01:00"}
    },
    "homepage_url": "https://www.example.org/",
}


class SessionSummary(
    pingsdk.Ping,
    namespace=NAMESPACE,
    doctype="session-summary",
    version=1,
    review=_SESSION_REVIEW,
    pipeline_metadata={"submission_timestamp_granularity": "seconds"},
    monitor=pingsdk.monitoring.DocTypeMonitor(
        release=pingsdk.monitoring.ChannelThresholds(
            volume=pingsdk.monitoring.VolumeThreshold(inactivity_timeout=30, percent_delta=20),
            # The release example's size: `pingsdk monitor --suggest examples/pings.py --examples`.
            size=pingsdk.monitoring.SizeThreshold(average=588, percent_delta=20),
            ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=0.5),
            duplicate=pingsdk.monitoring.DuplicateThreshold(percent=1),
            shape=pingsdk.monitoring.ShapeThreshold(mindist=10),
            # Sessions end within a day: sent 48 hours after it started, a summary is late.
            latency=pingsdk.monitoring.LatencyThreshold(hours=48, percent=5),
        ),
        nightly=pingsdk.monitoring.ChannelThresholds(
            ingestion_error=pingsdk.monitoring.IngestionErrorThreshold(percent=2),
        ),
        creation_field="started_at",
        channel_field="environment.channel",
    ),
    examples={
        "full": _SESSION_EXAMPLE,
        "minimal": {
            **{k: _SESSION_EXAMPLE[k] for k in ("client_id", "session_id", "started_at")},
            "duration_seconds": 0,
            "environment": {
                "channel": "nightly",
                "locale": "de",
                "os": {"name": "Android", "version": "14"},
            },
        },
    },
    fail_examples={
        "bad_client_id": {**_SESSION_EXAMPLE, "client_id": "not-a-uuid"},
        "unknown_channel": {
            **_SESSION_EXAMPLE,
            "environment": {**_SESSION_EXAMPLE["environment"], "channel": "aurora"},
        },
        "extra_field": {**_SESSION_EXAMPLE, "password": "hunter2"},
        "negative_duration": {**_SESSION_EXAMPLE, "duration_seconds": -1},
    },
):
    """How long sessions last, how they end, and how many tabs people use in them."""

    client_id: uuid.UUID = Field(description="Random per-profile identifier.")
    session_id: uuid.UUID = Field(description="Random identifier of this session.")
    started_at: AwareDatetime = Field(description="When the session started.")
    duration_seconds: float = Field(ge=0, description="Session length in seconds.")
    end_reason: Literal["closed", "crashed", "updated"] | None = Field(
        default=None, description="How the session ended; null while it is still running."
    )
    environment: Environment = Field(description="Where the session ran.")
    performance: Performance | None = Field(default=None, description="Session timings.")
    tabs_opened: int = Field(default=0, ge=0, description="Tabs opened during the session.")
    tab_counts: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=list, max_length=100, description="Open tabs, sampled every 10 minutes."
    )
    searches_by_engine: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="Searches per engine identifier."
    )
    experiments: dict[str, ExperimentBranch] = Field(
        default_factory=dict, description="Active experiments by experiment slug."
    )
    homepage_url: Annotated[str | None, pingsdk.DataCategory.STORED_CONTENT] = Field(
        default=None, max_length=2048, description="The configured home page, if not default."
    )


def realistic_session(**overrides: object) -> SessionSummary:
    """A :class:`SessionSummary` with plausible values (fresh ids, now), for demos and tests."""
    values: dict[str, object] = {
        "client_id": uuid.uuid4(),
        "session_id": uuid.uuid4(),
        "started_at": datetime.datetime.now(datetime.timezone.utc),
        "duration_seconds": 1834.5,
        "end_reason": "closed",
        "environment": Environment(
            channel=Channel.RELEASE,
            locale="en-US",
            os=OperatingSystem(name="Linux", version="6.8"),
            is_default_browser=True,
        ),
        "performance": Performance(startup_ms=412.0, first_search_ms=2210.5),
        "tabs_opened": 14,
        "tab_counts": [3, 7, 14],
        "searches_by_engine": {"ddg": 4},
    }
    values.update(overrides)
    return SessionSummary.model_validate(values)
