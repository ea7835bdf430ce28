"""assert_valid: what it accepts, what it checks, how it fails."""

from __future__ import annotations

import datetime
import gzip
import json
import uuid

import httpx
import pytest
from pydantic import AwareDatetime, Field

import pingsdk
from pingsdk.testing import CapturingTransport, assert_valid

REG = pingsdk.PingRegistry()


class Visit(pingsdk.Ping, namespace="kit-app", doctype="visit", version=3, registry=REG):
    """Visits, to count them."""

    when: AwareDatetime = Field(description="When.")
    pages: int = Field(ge=1, description="Pages seen.")
    tags: list[str] = Field(default_factory=list, description="Tags.")


GOOD = {"when": "2025-01-06T10:00:00+00:00", "pages": 2, "tags": ["a"]}


def test_accepts_instances_dicts_json_text_and_bytes() -> None:
    assert_valid(Visit(when=datetime.datetime.now(datetime.timezone.utc), pages=1))
    assert_valid(GOOD, Visit)
    assert_valid(json.dumps(GOOD), Visit)
    assert_valid(json.dumps(GOOD).encode(), Visit, draft="draft-06")


def test_captured_ping_uses_its_registered_class() -> None:
    transport = CapturingTransport(registry=REG)
    url = f"https://edge.test/submit/kit-app/visit/3/{uuid.uuid4()}"
    bad = gzip.compress(json.dumps({**GOOD, "pages": 0}).encode())
    with httpx.Client(transport=transport) as client:
        client.post(url, content=gzip.compress(json.dumps(GOOD).encode()))
        client.post(url, content=bad)
    good_ping, bad_ping = transport.pings
    assert_valid(good_ping)
    with pytest.raises(AssertionError, match=r"\$\.pages: 0 is less than the minimum of 1"):
        assert_valid(bad_ping)


def test_format_check_is_opt_in() -> None:
    payload = {**GOOD, "when": "yesterday"}
    assert_valid(payload, Visit)  # the schema repository's tests assert no formats either
    with pytest.raises(AssertionError, match=r"\$\.when: 'yesterday' is not a 'date-time'"):
        assert_valid(payload, Visit, format_check=True)


def test_every_error_listed_with_its_path_up_to_a_limit() -> None:
    payload = {"when": 1, "pages": "x", "tags": list(range(30))}
    with pytest.raises(AssertionError) as info:
        assert_valid(payload, Visit)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        "payload does not match the draft-04 schema of Visit (kit-app/visit/3): 32 error(s)"
    )
    assert "  $.pages: 'x' is not of type 'integer'" in lines
    assert "  $.tags[0]: 0 is not of type 'string'" in lines
    assert lines[-1] == "  ... and 12 more"
    assert len(lines) == 22


def test_misuse_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs ping_cls="):
        assert_valid(GOOD)
    with pytest.raises(TypeError, match="not int"):
        assert_valid(3, Visit)  # type: ignore[arg-type]
