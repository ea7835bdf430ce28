"""Test kit for pings: capture what a client sends, validate payloads against exported schemas."""

from __future__ import annotations

__all__: list[str] = []
