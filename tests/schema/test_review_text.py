"""Data review requests for a fully and a partially documented ping."""

from __future__ import annotations

from typing import Any

from pingsdk.schema._review_text import MANDATORY_FACTS, missing_review_facts, review_request

from .review_pings import Draft, SearchCounts

# The exported schemas, written out so these tests do not depend on the export's details.
SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["engines", "count", "locale"],
    "properties": {
        "engines": {
            "type": "array",
            "description": "Engines used in the period.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "Search engine identifier."},
                    "url": {"type": "string", "description": "The engine's search URL."},
                },
            },
        },
        "count": {"type": "integer", "minimum": 0, "description": "Searches in the period."},
        "locale": {"type": ["string", "null"], "description": "UI locale | as BCP 47."},
    },
}
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "engine": {"type": "string", "description": "Search engine identifier."},
        "hits": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def test_fully_documented_ping() -> None:
    text = review_request(SearchCounts, schema=SEARCH_SCHEMA)
    assert missing_review_facts(SearchCounts, schema=SEARCH_SCHEMA) == []
    assert text.startswith("# Data review request: review-demo/search-counts version 2\n")
    # The highest category (a field's own category 3) on top, not the ping's category 2.
    assert "**Data collection category:** Category 3: stored content & communications" in text
    for number in range(1, 13):
        assert f"\n{number}. **" in text
    assert "   Which search engines do people use, and how often?" in text
    assert "To rank the engines we ship" in text
    assert "| `engines` | array of object | Engines used in the period. | " in text
    assert (
        "| `engines.url` | string | The engine's search URL. | "
        "Category 3: stored content & communications |" in text
    )
    assert (
        "| `engines.name` | string | Search engine identifier. | "
        "Category 2: interaction data (ping) |" in text
    )
    assert "| `locale` | string or null | UI locale \\| as BCP 47. |" in text
    assert "Until 2099-06-30 (a time-limited collection). Owners: search@example.com." in text
    assert "deleted 180 days after collection" in text
    assert "The collection is default on. Settings > Privacy" in text
    assert "https://bugzilla.mozilla.org/show_bug.cgi?id=1234567" in text
    assert "*Missing" not in text
    assert text.endswith("## Missing answers\n\nNone: every mandatory fact is declared.\n")


def test_partially_documented_ping() -> None:
    missing = missing_review_facts(Draft, schema=DRAFT_SCHEMA)
    joined = "\n".join(missing)
    for fact in (
        "questions",
        "why",
        "alternatives",
        "current_instrumentation",
        "documentation",
        "populations",
        "analysis",
        "results_shared",
        "third_party",
        "bugs",
        "owners",
        "default_on",
        "category",
    ):
        assert f"DataReview({fact}=" in joined, fact
    assert "description of field 'hits': question 5" in missing
    assert "description of field 'engine'" not in joined
    text = review_request(Draft, schema=DRAFT_SCHEMA)
    assert "**Data collection category:** *missing*" in text
    assert "| `hits` | map of integer | *missing* | *missing* |" in text
    assert "*Missing: DataReview why=.*" in text
    assert "Permanently. *Missing: an owner (DataReview owners=).*" in text
    tail = text.split("## Missing answers\n\n", 1)[1]
    assert tail.splitlines() == [f"- {m}" for m in missing]


def test_default_off_needs_no_opt_out_and_on_needs_one() -> None:
    import dataclasses

    import pingsdk

    base = SearchCounts.ping_info().review
    for default_on, opt_out, missing in [(False, None, False), (True, None, True)]:
        review = dataclasses.replace(base, default_on=default_on, opt_out=opt_out)

        class Variant(
            pingsdk.Ping,
            namespace="review-demo",
            doctype="variant",
            version=1,
            review=review,
            registry=pingsdk.PingRegistry(),
        ):
            """Same questions."""

            engine: str = pingsdk_field()

        facts = missing_review_facts(Variant, schema=DRAFT_SCHEMA | {"properties": {}})
        assert any("opt_out" in f for f in facts) is missing, facts
        text = review_request(Variant, schema={"properties": {}})
        if not default_on:
            assert "The collection is not default on." in text


def pingsdk_field() -> Any:
    from pydantic import Field

    return Field(description="Engine.")


def test_mandatory_facts_documented() -> None:
    assert "opt_out" in MANDATORY_FACTS and "expires" not in MANDATORY_FACTS


def test_exported_schema_is_used_when_none_is_given() -> None:
    # The export sorts properties, so only the order of the table rows may differ.
    exported = review_request(SearchCounts).splitlines()
    assert sorted(exported) == sorted(
        review_request(SearchCounts, schema=SEARCH_SCHEMA).splitlines()
    )
    assert missing_review_facts(Draft) == missing_review_facts(Draft, schema=DRAFT_SCHEMA)
