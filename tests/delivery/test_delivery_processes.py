"""Several processes and threads on one queue file; fork(); a corrupt file; a full disk."""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

import pingsdk
from pingsdk.edge import EdgeServer, FaultPlan
from tests.delivery.pings import SearchCounts
from tests.support import child_env

ENV = child_env()

WORKER = """
import sys, threading
import pingsdk
from tests.delivery.pings import SearchCounts
client = pingsdk.PingClient({endpoint!r}, queue_path={queue!r}, max_in_flight=4)
ids = []
def work(t):
    for i in range({per_thread}):
        ids.append(client.submit(SearchCounts(engine="w{worker}-t%d" % t, count=i)))
threads = [threading.Thread(target=work, args=(t,)) for t in range({threads})]
for t in threads: t.start()
for t in threads: t.join()
assert client.flush(timeout=20.0)
client.close()
print("\\n".join(ids))
"""


def test_two_processes_and_threads_share_one_queue(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(WORKER).format(
                    endpoint=delivery_edge.url,
                    queue=str(queue_path),
                    worker=w,
                    threads=3,
                    per_thread=40,
                ),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for w in range(2)
    ]
    submitted: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        submitted.extend(out.split())
    assert len(submitted) == 240 == len(set(submitted))
    counts = collections.Counter(p.doc_id for p in delivery_edge.accepted())
    assert set(counts) == set(submitted)
    assert max(counts.values()) == 1, "a ping was sent twice"


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads: that is what we test.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_its_own_uploader_and_never_double_sends(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    # Slow answers so that the parent has requests (leased pings) on the wire at the fork.
    delivery_edge.set_faults(FaultPlan(latency=0.2))
    client = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, max_in_flight=4)
    try:
        parent_ids = [client.submit(SearchCounts(engine="parent", count=i)) for i in range(12)]
        deadline = time.monotonic() + 5
        while client.stats().in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.stats().in_flight > 0
        read_fd, write_fd = os.pipe()
        pid = _fork()
        if pid == 0:  # the child: must always leave through os._exit
            code = 1
            try:
                os.close(read_fd)
                ids = [client.submit(SearchCounts(engine="child", count=i)) for i in range(5)]
                ok = client.flush(timeout=10.0)
                client.close()
                os.write(write_fd, "\n".join(ids).encode())
                code = 0 if ok else 2
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            child_ids = pipe.read().split()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.flush(timeout=15.0)
    finally:
        client.close()
    counts = collections.Counter(p.doc_id for p in delivery_edge.accepted())
    assert len(child_ids) == 5
    assert set(counts) == set(parent_ids) | set(child_ids)
    assert max(counts.values()) == 1, "a ping leased by the parent was sent by the child too"


def test_corrupt_queue_file_is_moved_aside_and_a_fresh_one_used(
    delivery_edge: EdgeServer, queue_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A damaged pingsdk queue: garbage where the queue was, pingsdk's lock file beside it.
    queue_path.write_bytes(b"this is not an SQLite database" * 100)
    queue_path.with_name(queue_path.name + ".lock").touch()
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as client:
        doc_id = client.submit(SearchCounts(engine="x", count=1))
        assert client.flush(5.0)
    assert [p.doc_id for p in delivery_edge.accepted()] == [doc_id]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("moved aside" in m for m in errors), errors
    assert list(queue_path.parent.glob("pings.db.corrupt-*"))


DISK_FULL = """
import logging, os, resource, signal, sys
import pingsdk
from tests.delivery.pings import Blob
# The uploader's warnings would otherwise reach stderr (logging's last resort) mid-line.
logging.getLogger("pingsdk").addHandler(logging.NullHandler())
client = pingsdk.PingClient(
    {endpoint!r}, queue_path={queue!r}, uploader=False,
    retry=pingsdk.RetryPolicy(initial_delay=0.05, max_delay=0.2),
)
client.flush(0.1)  # the queue file exists before the limit applies
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, resource.RLIM_INFINITY))
stored = []
for i in range(200):
    try:
        stored.append(client.submit(Blob(text=os.urandom(6000).hex())))
    except pingsdk.QueueFullError as exc:
        print("FULL", type(exc).__name__, file=sys.stderr)
        break
else:
    print("never full", file=sys.stderr)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
client.close(1.0)  # gives back the lease of a request in flight
print("\\n".join(stored))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_disk_full_raises_typed_error_and_keeps_what_was_stored(
    delivery_edge: EdgeServer, tmp_path: Path
) -> None:
    queue = tmp_path / "pings.db"
    # The child only stores (uploader=False), so everything stays in the queue.
    script = textwrap.dedent(DISK_FULL).format(endpoint=delivery_edge.url, queue=str(queue))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert "FULL QueueFullError" in proc.stderr, proc.stderr
    stored = proc.stdout.split()
    assert len(stored) >= 5
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue) as client:
        assert client.flush(timeout=15.0)
        assert client.stats().pending == 0
    assert {p.doc_id for p in delivery_edge.accepted()} >= set(stored)
