"""The Glean payload (``glean.1``): ``ping_info``, ``client_info``, ``metrics``, ``events``.

Pure functions over what storage holds; :mod:`pingsdk.glean._submit` calls them inside the
transaction that stores the ping. Shapes follow glean-core's ``ping/mod.rs`` and the pipeline's
``glean.1`` schema: metrics grouped by type then identifier (labeled ones by label), events
sorted by time with timestamps relative to the ping's first event.
"""

from __future__ import annotations

import platform
from typing import Any

from pingsdk._version import __version__
from pingsdk.glean._histogram import payload as histogram_payload

__all__ = [
    "KNOWN_CLIENT_ID",
    "SDK_BUILD",
    "events_payload",
    "metrics_payload",
    "sanitize_application_id",
    "system_info",
]

KNOWN_CLIENT_ID = "c0ffeec0-ffee-c0ff-eec0-ffeec0ffeec0"
"""The client_id glean-core stores while upload is off (no real id is kept)."""
SDK_BUILD = f"pingsdk/{__version__}"
"""``client_info.telemetry_sdk_build``: says the ping came from pingsdk, not the Glean SDK."""

_DISTRIBUTIONS = frozenset(
    {
        "timing_distribution",
        "memory_distribution",
        "custom_distribution",
        "labeled_timing_distribution",
        "labeled_memory_distribution",
        "labeled_custom_distribution",
    }
)


def sanitize_application_id(application_id: str) -> str:
    """glean-core's ``sanitize_application_id``: lowercase alphanumerics, runs of others -> ``-``.

    >>> sanitize_application_id("org.mozilla.Fenix_Beta")
    'org-mozilla-fenix-beta'
    """
    out: list[str] = []
    last_dash = False
    for char in application_id:
        if char.isascii() and char.isalnum():
            out.append(char.lower())
            last_dash = False
        elif not last_dash:
            out.append("-")
            last_dash = True
    return "".join(out)


def metrics_payload(entries: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """``metrics``: ``{type: {identifier: value}}``; labeled: ``{type: {id: {label: value}}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, ptype, value in sorted(entries, key=lambda e: (e[1], e[0])):
        shown = histogram_payload(value) if ptype in _DISTRIBUTIONS else value
        group = out.setdefault(ptype, {})
        if ptype.startswith("labeled_"):
            base, _, label = key.partition("/")
            group.setdefault(base, {})[label] = shown
        else:
            group[key] = shown
    return out


def events_payload(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``events`` array: sorted by time, timestamps in ms since the first event."""
    ordered = sorted(events, key=lambda e: int(e["timestamp"]))
    if not ordered:
        return []
    first = int(ordered[0]["timestamp"])
    return [{**e, "timestamp": int(e["timestamp"]) - first} for e in ordered]


def system_info() -> dict[str, str]:
    """``os``, ``os_version`` and ``architecture`` as the running system reports them."""
    return {
        "os": platform.system() or "unknown",
        "os_version": platform.release() or "Unknown",
        "architecture": platform.machine() or "Unknown",
    }
