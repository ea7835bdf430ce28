"""The wire story: what a ping looks like to the edge, as pure functions.

The submit paths of the HTTP Edge Server (``/submit/<namespace>/<docType>/<docVersion>/<docId>``
and the legacy telemetry form), the full URL on an endpoint, and the limits the edge enforces.
The clients use these to build every request; use them directly to send pings another way.
"""

from __future__ import annotations

from pingsdk.wire._urls import AppInfo, build_submit_url, legacy_submit_path, submit_path

__all__ = ["AppInfo", "build_submit_url", "legacy_submit_path", "submit_path"]
