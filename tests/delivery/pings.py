"""Ping classes for the delivery tests (also imported by the child-process scripts)."""

from __future__ import annotations

import datetime

from pydantic import Field

import pingsdk

REGISTRY = pingsdk.PingRegistry()


class SearchCounts(
    pingsdk.Ping, namespace="delivery-test", doctype="search-counts", version=1, registry=REGISTRY
):
    """Search counts per engine, to learn which engines people use."""

    engine: str = Field(description="Search engine identifier.")
    count: int = Field(ge=0, description="Searches in the period.")


class Blob(pingsdk.Ping, namespace="delivery-test", doctype="blob", version=2, registry=REGISTRY):
    """A ping with free text, to test sizes."""

    text: str = Field(description="Any text.")


class LegacyCrash(
    pingsdk.Ping,
    namespace="telemetry",
    doctype="crash",
    version=4,
    legacy_telemetry=True,
    registry=REGISTRY,
):
    """A legacy telemetry ping (the edge reads its schema version from the payload)."""

    version: int = Field(default=4, description="Payload format version.")
    reason: str = Field(description="Why.")


class Expired(
    pingsdk.Ping,
    namespace="delivery-test",
    doctype="old-thing",
    version=1,
    registry=REGISTRY,
    review=pingsdk.DataReview(expires=datetime.date(2020, 1, 1)),
):
    """An expired collection."""

    n: int = Field(description="A number.")


class DeletionRequest(
    pingsdk.Ping,
    namespace="delivery-test",
    doctype="deletion-request",
    version=1,
    registry=REGISTRY,
):
    """Asks the pipeline to delete this client's data."""

    client_id: str = Field(description="The client whose data goes.")


ALL = [SearchCounts, Blob, LegacyCrash, DeletionRequest]
APP = pingsdk.AppInfo(name="Firefox", version="130.0", channel="release", build_id="20240101000000")
