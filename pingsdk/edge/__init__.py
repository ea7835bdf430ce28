"""A local edge server for testing telemetry clients: pingsdk's validating, recording edge.

It answers like the HTTP edge contract (200/400/404/405/411/413/431, heartbeats), validates
what arrives against a schema-repository tree (Glean pings of applications without schemas
against the generic Glean schema), stores every submit request with its verdict, reports like
Mozilla's docType monitor, shows a viewer page, and injects faults on demand.

Example:
    >>> import httpx
    >>> from pingsdk.edge import EdgeServer
    >>> with EdgeServer() as edge:
    ...     url = f"{edge.url}/submit/my-app/events/1/0b5c3f5e-8a32-4a0e-9c4e-3d5bd0c5f3a1"
    ...     httpx.post(url, json={"n": 1}).status_code
    200
"""

from __future__ import annotations

from pingsdk.edge._faults import FaultPlan
from pingsdk.edge._monitor import format_report
from pingsdk.edge._server import EdgeServer
from pingsdk.edge._store import ReceivedPing
from pingsdk.schema._validation import ValidationIssue

__all__ = ["EdgeServer", "FaultPlan", "ReceivedPing", "ValidationIssue", "format_report"]
