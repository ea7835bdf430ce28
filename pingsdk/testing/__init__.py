"""Test kit for pings: capture what a client sends, validate payloads against exported schemas.

Nothing in :mod:`pingsdk` imports this package at runtime. The pytest plugin
(:mod:`pingsdk.testing.plugin`, registered by entry point) provides the fixtures
``pingsdk_capture``, ``pingsdk_client`` and ``pingsdk_edge``; see docs/testing.md.
"""

from __future__ import annotations

from ._capture import CapturedPing, CapturingTransport, LegacyParts

__all__ = ["CapturedPing", "CapturingTransport", "LegacyParts"]
