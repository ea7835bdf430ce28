"""The ping every benchmark sends: a typical small ping (about 400 bytes of JSON)."""

from __future__ import annotations

from pydantic import Field

import pingsdk

__all__ = ["PING", "REGISTRY", "SearchCounts"]

REGISTRY = pingsdk.PingRegistry()


class SearchCounts(
    pingsdk.Ping, namespace="bench-app", doctype="search-counts", version=1, registry=REGISTRY
):
    """A typical small ping (about 400 bytes of JSON)."""

    client_id: str = Field(description="Install id.")
    engine: str = Field(description="Search engine id.")
    source: str = Field(description="Where the search started.")
    count: int = Field(ge=0, description="Searches.")
    locale: str = Field(description="UI locale.")
    channel: str = Field(description="Release channel.")
    os_name: str = Field(description="Operating system.")
    os_version: str = Field(description="OS version.")
    app_version: str = Field(description="Application version.")
    experiments: list[str] = Field(description="Active experiment slugs.")
    session_seconds: float = Field(ge=0, description="Session length.")


PING = SearchCounts(
    client_id="c0ffee00-1234-4abc-8def-0123456789ab",
    engine="duckduckgo",
    source="urlbar",
    count=7,
    locale="en-GB",
    channel="release",
    os_name="Linux",
    os_version="6.8",
    app_version="131.0.2",
    experiments=["new-tab-layout", "search-suggestions-v2", "onboarding-2024"],
    session_seconds=1234.5,
)
