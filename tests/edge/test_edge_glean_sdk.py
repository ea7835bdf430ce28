"""The real Glean SDK's pings through the local edge: every one answered 200, in strict mode.

The SDK keeps global state and starts its own upload process, so it runs in a child
process pointed at an edge in this one. Its application has no schema of its own in the
tree: the edge checks its pings against the generic Glean schemas.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pingsdk.edge import EdgeServer

pytest.importorskip("glean", reason="the Glean SDK (glean-sdk, a dev dependency) is needed")

APP_FILES = Path(__file__).resolve().parent / "glean_app"

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from glean import Configuration, Glean, load_metrics, load_pings

    mode, endpoint, data_dir, files = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    Glean.initialize(
        application_id="org.example.service",
        application_version="1.4.2",
        upload_enabled=True,
        data_dir=data_dir,
        configuration=Configuration(server_endpoint=endpoint, channel="testing"),
    )
    if mode == "usage":
        metrics = load_metrics(files / "metrics.yaml")
        pings = load_pings(files / "pings.yaml")
        metrics.app.opened.add(2)
        metrics.app.theme.set("dark")
        pings.service_usage.submit()
        pings.bare.submit()  # declared with include_info_sections: false
    else:
        Glean.set_upload_enabled(False)  # sends deletion-request
    print("submitted", flush=True)
    sys.stdin.readline()  # the test says when the edge has them
    Glean.shutdown()
    """
)


def run_glean(mode: str, edge: EdgeServer, data_dir: Path, *doctypes: str) -> None:
    """Run the Glean SDK in a child process until the edge has a ping of each doctype."""
    command = [sys.executable, "-c", SCRIPT, mode, edge.url, str(data_dir), str(APP_FILES)]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline() == "submitted\n"
        assert arrived(edge, *doctypes), [p.doctype for p in edge.received()]
        proc.stdin.write("\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err


def arrived(edge: EdgeServer, *doctypes: str, timeout: float = 60.0) -> bool:
    """Wait until a ping of each doctype was stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(doctypes) <= {p.doctype for p in edge.received()}:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_real_glean_sdk_pings_are_accepted(schema_tree: Path, tmp_path: Path) -> None:
    with EdgeServer(schemas=schema_tree, strict=True) as edge:
        run_glean("usage", edge, tmp_path / "glean", "service-usage", "bare")
        run_glean("delete", edge, tmp_path / "glean", "deletion-request")
        received = edge.received()
    assert all(p.status == 200 for p in received), [(p.status, p.path, p.reason) for p in received]
    verdicts = {p.doctype: p.verdict for p in received}
    assert verdicts["service-usage"] == "valid (generic glean.1)"
    assert verdicts["bare"] == "valid (generic glean-min.1)"
    assert verdicts["deletion-request"] == "valid (generic glean.1)"
    assert all(p.namespace == "org-example-service" and p.version == 1 for p in received)
    assert all(p.headers["X-Telemetry-Agent"].startswith("Glean/71.") for p in received)
    usage = next(p for p in received if p.doctype == "service-usage")
    assert usage.payload is not None
    assert usage.payload["metrics"]["counter"] == {"app.opened": 2}
