"""fork() right after the first submit: the child's uploader must not hang on OpenSSL locks.

Before the TLS context was created in the calling thread, the parent's new uploader thread
was often inside OpenSSL (its first context of the process: loading the configuration and the
CA bundle) at the moment of the fork, and the child's uploader then hung forever creating its
own context: about 1 fresh process in 4 here. So each round is a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pingsdk.edge import EdgeServer
from tests.support import child_env

SCRIPT = textwrap.dedent(
    """
    import os, sys, time, warnings
    import pingsdk
    from tests.delivery.pings import SearchCounts

    client = pingsdk.PingClient({url!r}, queue_path={queue!r})
    client.submit(SearchCounts(engine="parent", count=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
        pid = os.fork()
    if pid == 0:
        code = 3
        try:
            client.submit(SearchCounts(engine="child", count=1))
            code = 0 if client.flush(timeout=5.0) else 2
            client.close(timeout=1.0)
        finally:
            os._exit(code)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, 9)
        print("child hung")
        sys.exit(1)
    assert client.flush(timeout=5.0)
    client.close()
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_right_after_first_submit_never_hangs(
    delivery_edge: EdgeServer, tmp_path: Path
) -> None:
    for round_ in range(6):
        script = SCRIPT.format(url=delivery_edge.url, queue=str(tmp_path / f"{round_}.db"))
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
        assert proc.returncode == 0, f"round {round_}: {proc.stdout}{proc.stderr}"
    engines = sorted(p.payload["engine"] for p in delivery_edge.accepted())
    assert engines == ["child"] * 6 + ["parent"] * 6
