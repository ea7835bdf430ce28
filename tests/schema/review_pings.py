"""Ping classes for the review and CLI tests: one fully documented, one partially."""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import BaseModel, Field

import pingsdk

registry = pingsdk.PingRegistry()


class Engine(BaseModel):
    name: str = Field(description="Search engine identifier.")
    url: Annotated[str, pingsdk.DataCategory.STORED_CONTENT] = Field(
        description="The engine's search URL."
    )


class SearchCounts(
    pingsdk.Ping,
    namespace="review-demo",
    doctype="search-counts",
    version=2,
    registry=registry,
    review=pingsdk.DataReview(
        category=pingsdk.DataCategory.INTERACTION,
        owners=("search@example.com",),
        bugs=("https://bugzilla.mozilla.org/show_bug.cgi?id=1234567",),
        expires=datetime.date(2099, 6, 30),
        delete_after_days=180,
        why="To rank the engines we ship; users get better defaults.",
        alternatives="Surveys: too few answers.",
        current_instrumentation="No: nothing counts searches per engine.",
        documentation="https://example.com/docs/search-counts",
        populations="Release channel, all locales.",
        default_on=True,
        opt_out="Settings > Privacy > uncheck 'Send technical and interaction data'.",
        analysis="Weekly dashboards of counts per engine.",
        results_shared="The search team's public wiki page.",
        third_party="none",
    ),
):
    """Which search engines do people use, and how often?"""

    engines: list[Engine] = Field(description="Engines used in the period.")
    count: int = Field(ge=0, description="Searches in the period.")
    locale: str | None = Field(default=None, description="UI locale | as BCP 47.")


class Draft(pingsdk.Ping, namespace="review-demo", doctype="draft", version=1, registry=registry):
    engine: str = Field(description="Search engine identifier.")
    hits: dict[str, int]
