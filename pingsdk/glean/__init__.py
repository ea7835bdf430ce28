"""Glean-compatible pings from Python: metrics and pings from ``metrics.yaml``/``pings.yaml``."""
