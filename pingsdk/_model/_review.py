"""Data-review facts a ping declares: categories, owners, bugs, expiry, retention, answers."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re

from pingsdk._exceptions import ConfigurationError

__all__ = ["DataCategory", "DataReview"]

_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_URL = re.compile(r"^https?://[^\s]+$")


class DataCategory(enum.IntEnum):
    """Mozilla's data collection categories, from least to most sensitive.

    Use one per ping in :class:`DataReview`, and annotate a field whose category differs::

        from typing import Annotated
        url: Annotated[str, pingsdk.DataCategory.STORED_CONTENT] = Field(description="...")

    Added in 0.1.
    """

    TECHNICAL = 1
    """Category 1: technical data about the machine or the software."""
    INTERACTION = 2
    """Category 2: how the user interacts with the software."""
    STORED_CONTENT = 3
    """Category 3: stored content and communications (formerly "web activity")."""
    HIGHLY_SENSITIVE = 4
    """Category 4: highly sensitive data or clearly identifiable personal data."""

    @property
    def label(self) -> str:
        """The human name used in data review requests, e.g. ``"Category 2: interaction"``."""
        return _LABELS[self]


_LABELS = {
    DataCategory.TECHNICAL: "Category 1: technical data",
    DataCategory.INTERACTION: "Category 2: interaction data",
    DataCategory.STORED_CONTENT: "Category 3: stored content & communications",
    DataCategory.HIGHLY_SENSITIVE: "Category 4: highly sensitive data",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DataReview:
    """What a data reviewer needs to know about a ping.

    Pass it to a ping class as ``review=``. Every fact is optional so that a ping can be declared
    before its review is complete; ``pingsdk review --check`` lists what is still missing.

    Args:
        category: the ping's data collection category (fields may declare a higher one).
        owners: email addresses of the people answerable for the data and notified about it.
        bugs: tracking bug URLs.
        data_review: URL of the approved data review.
        expires: last day data is collected; after it ``submit()`` refuses the ping and the schema
            carries ``collect_through_date``. ``None`` means permanent (then name an owner).
        delete_after_days: retention in the pipeline (``expiration_policy.delete_after_days``).
        questions: what questions the data answers; defaults to the class docstring.
        why: why the questions need answering, and the benefit to users.
        alternatives: other methods considered, and why they were not chosen.
        current_instrumentation: whether existing collection could answer the questions.
        documentation: URL of the public documentation of the schema.
        populations: which users are measured (channels, locales, countries, ...).
        opt_out: how users opt out of a default-on collection.
        default_on: whether collection is on by default.
        analysis: how the data will be analysed.
        results_shared: where the results will be shared.
        third_party: any third-party tool involved, or ``"none"``.

    Example::

        review = pingsdk.DataReview(
            category=pingsdk.DataCategory.INTERACTION,
            owners=("search-team@example.com",),
            bugs=("https://bugzilla.mozilla.org/show_bug.cgi?id=1234567",),
            expires=datetime.date(2027, 6, 30),
            delete_after_days=180,
        )

    Added in 0.1.
    """

    category: DataCategory | None = None
    owners: tuple[str, ...] = ()
    bugs: tuple[str, ...] = ()
    data_review: str | None = None
    expires: datetime.date | None = None
    delete_after_days: int | None = None
    questions: str | None = None
    why: str | None = None
    alternatives: str | None = None
    current_instrumentation: str | None = None
    documentation: str | None = None
    populations: str | None = None
    opt_out: str | None = None
    default_on: bool | None = None
    analysis: str | None = None
    results_shared: str | None = None
    third_party: str | None = None

    def __post_init__(self) -> None:
        if self.category is not None:
            try:
                object.__setattr__(self, "category", DataCategory(self.category))
            except ValueError:
                raise ConfigurationError(
                    f"category must be 1-4 (a pingsdk.DataCategory), got {self.category!r}"
                ) from None
        for name in ("owners", "bugs"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConfigurationError(f"{name} must be a tuple of strings, not one string")
            object.__setattr__(self, name, tuple(value))
        for owner in self.owners:
            if not _EMAIL.fullmatch(owner):
                raise ConfigurationError(f"owners must be email addresses, got {owner!r}")
        for url in (*self.bugs, self.data_review, self.documentation):
            if url is not None and not _URL.fullmatch(url):
                raise ConfigurationError(f"expected an http(s) URL, got {url!r}")
        if self.expires is not None and (
            not isinstance(self.expires, datetime.date)
            or isinstance(self.expires, datetime.datetime)
        ):
            raise ConfigurationError(f"expires must be a datetime.date, got {self.expires!r}")
        if self.delete_after_days is not None and (
            isinstance(self.delete_after_days, bool)
            or not isinstance(self.delete_after_days, int)
            or self.delete_after_days < 1
        ):
            raise ConfigurationError(
                f"delete_after_days must be a positive int, got {self.delete_after_days!r}"
            )
