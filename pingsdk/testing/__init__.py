"""Test kit for pings: capture what a client sends, validate payloads against exported schemas.

Nothing in :mod:`pingsdk` imports this package at runtime. The pytest plugin
(:mod:`pingsdk.testing.plugin`, registered by entry point) provides the fixtures
``pingsdk_capture``, ``pingsdk_client``, ``pingsdk_edge`` and ``pingsdk_edge_client``;
see docs/testing.md.
"""

from __future__ import annotations

from pingsdk.testing._assertions import assert_valid
from pingsdk.testing._capture import CapturedPing, CapturingTransport

__all__ = ["CapturedPing", "CapturingTransport", "assert_valid"]
