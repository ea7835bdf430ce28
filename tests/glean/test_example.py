"""examples/glean_service.py runs as a user would run it, against a real local edge."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pingsdk.edge import EdgeServer

ROOT = Path(__file__).resolve().parents[2]


def test_example_service_delivers_valid_glean_pings(
    tmp_path: Path, assert_glean_valid: Callable[[dict[str, Any]], None]
) -> None:
    with EdgeServer() as edge:
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "glean_service.py"),
                "--endpoint",
                edge.url,
                "--queue",
                str(tmp_path / "glean.db"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        received = sorted(edge.received(), key=lambda r: r.payload["ping_info"]["seq"])
    assert [r.payload["ping_info"]["seq"] for r in received] == [0, 1, 2, 3]
    assert [r.payload["ping_info"]["reason"] for r in received] == [
        "periodic",
        "periodic",
        "periodic",
        "shutdown",
    ]
    for ping in received:
        assert ping.namespace == "org-example-reportservice" and ping.doctype == "usage"
        assert_glean_valid(ping.payload)
    requests = sum(
        sum(r.payload["metrics"]["labeled_counter"]["report_service.requests"].values())
        for r in received[:3]
    )
    assert requests == 30
    assert (
        "metrics" not in received[3].payload
        or "labeled_counter" not in (received[3].payload["metrics"])
    )
