"""durability="buffered": submit() hands the ping to a buffer the uploader commits within
``buffer_delay``. A SIGKILL loses at most that window; flush, close, the exit hook and a fork
keep their promises; ``stats().pending`` counts what is buffered."""

from __future__ import annotations

import base64
import gzip
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pingsdk
from pingsdk._delivery._prepare import prepare_ping
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer
from tests.delivery.pings import Blob, SearchCounts
from tests.support import child_env

LONG = 60.0
"""A buffer_delay no test waits for: only flush/close/exit commit the buffer."""
MARGIN = 0.3
"""Scheduling slack on a loaded 2-core machine, on top of buffer_delay."""


def stored_ids(path: Path) -> list[str]:
    """The doc ids stored in the queue file, read without leasing anything."""
    queue = PingQueue(path)
    try:
        return queue.read(
            lambda conn: [str(row[0]) for row in conn.execute("SELECT doc_id FROM pings")]
        )
    finally:
        queue.close()


def stored_within(path: Path, seconds: float) -> list[str]:
    """The doc ids stored in ``path`` as soon as there are any, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (ids := stored_ids(path)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return ids


def refused_url() -> str:
    """An endpoint where nothing listens: pings stay in the queue."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_buffered_needs_an_uploader_and_a_positive_delay(queue_path: Path) -> None:
    with pytest.raises(pingsdk.ConfigurationError, match="uploader=False"):
        pingsdk.PingClient(
            "https://e.example.com", queue_path=queue_path, durability="buffered", uploader=False
        )
    with pytest.raises(pingsdk.ConfigurationError, match="buffer_delay"):
        pingsdk.PingClient("https://e.example.com", queue_path=queue_path, buffer_delay=0)
    with pytest.raises(pingsdk.ConfigurationError, match="'buffered'"):
        pingsdk.PingClient("https://e.example.com", queue_path=queue_path, durability="disk")  # type: ignore[arg-type]


def test_pending_counts_buffered_pings_and_close_commits_them(queue_path: Path) -> None:
    client = pingsdk.PingClient(
        refused_url(), queue_path=queue_path, durability="buffered", buffer_delay=LONG
    )
    ids = [client.submit(SearchCounts(engine="b", count=i)) for i in range(5)]
    assert stored_ids(queue_path) == []  # not committed yet...
    assert client.stats().pending == 5  # ...but counted
    assert client.close(timeout=0.5) is False  # unsent: the edge refuses
    assert sorted(stored_ids(queue_path)) == sorted(ids)


def test_buffer_is_committed_within_the_delay(queue_path: Path) -> None:
    with pingsdk.PingClient(
        refused_url(), queue_path=queue_path, durability="buffered", buffer_delay=0.05
    ) as client:
        doc_id = client.submit(SearchCounts(engine="b", count=1))
        assert stored_within(queue_path, 0.05 + MARGIN) == [doc_id]
        assert client.stats().pending == 1  # in the queue now, not counted twice
        client.close(timeout=0.2)


def test_flush_commits_and_delivers(delivery_edge: EdgeServer, queue_path: Path) -> None:
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, durability="buffered", buffer_delay=LONG
    ) as client:
        ids = [client.submit(SearchCounts(engine="b", count=i)) for i in range(20)]
        assert client.flush(timeout=10.0)
        stats = client.stats()
    assert stats.sent == 20 and stats.pending == 0 and stats.submitted == 20
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)


@pytest.mark.anyio
async def test_async_client_buffers_and_flushes(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    async with pingsdk.AsyncPingClient(
        delivery_edge.url, queue_path=queue_path, durability="buffered", buffer_delay=LONG
    ) as client:
        ids = [await client.submit(SearchCounts(engine="a", count=i)) for i in range(10)]
        assert client.stats().pending == 10
        assert await client.flush(timeout=10.0)
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)


def test_a_ping_that_may_not_fit_is_refused_at_submit(queue_path: Path) -> None:
    # Too big for max_queue_bytes: submit() must still raise, not the commit later.
    noisy = base64.b64encode(os.urandom(6000)).decode()
    with pingsdk.PingClient(
        refused_url(),
        queue_path=queue_path,
        durability="buffered",
        max_queue_bytes=4000,
        buffer_delay=LONG,
    ) as client:
        with pytest.raises(pingsdk.PayloadTooLargeError) as info:
            client.submit(Blob(text=noisy))
        assert info.value.kind == "queue"
        assert client.stats().pending == 0 and client.stats().submitted == 0
        client.close(timeout=0.2)


def test_upload_switch_off_drops_buffered_pings(queue_path: Path) -> None:
    client = pingsdk.PingClient(
        refused_url(), queue_path=queue_path, durability="buffered", buffer_delay=LONG
    )
    for i in range(3):
        client.submit(SearchCounts(engine="b", count=i))
    client.set_upload_enabled(False)
    assert client.stats().pending == 0
    assert client.stats().dropped.get("upload_disabled") == 3
    client.close(timeout=0.5)
    assert stored_ids(queue_path) == []


EXIT_CHILD = """
import sys
import pingsdk
from tests.delivery.pings import SearchCounts
client = pingsdk.PingClient({endpoint!r}, queue_path={queue!r}, durability="buffered",
                            buffer_delay=60.0, atexit_timeout=0.3)
for i in range(7):
    print(client.submit(SearchCounts(engine="exit", count=i)), flush=True)
# no close(): the exit hook must commit the buffer
"""


def test_exit_hook_commits_the_buffer(queue_path: Path) -> None:
    script = textwrap.dedent(EXIT_CHILD).format(endpoint=refused_url(), queue=str(queue_path))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        check=True,
    )
    printed = done.stdout.split()
    assert len(printed) == 7
    assert sorted(stored_ids(queue_path)) == sorted(printed)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_starts_with_an_empty_buffer(queue_path: Path) -> None:
    client = pingsdk.PingClient(
        refused_url(), queue_path=queue_path, durability="buffered", buffer_delay=LONG
    )
    parent_ids = [client.submit(SearchCounts(engine="parent", count=i)) for i in range(4)]
    read_end, write_end = os.pipe()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # the child: report, submit one, close, leave without the parent's atexit
        status = 1
        try:
            before = client.stats().pending
            child_id = client.submit(SearchCounts(engine="child", count=0))
            client.close(timeout=0.5)
            os.write(write_end, f"{before} {child_id}".encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    reported = os.read(read_end, 200).decode().split()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    before, child_id = int(reported[0]), reported[1]
    # The child's pending counted the parent's committed rows (none) and no buffered copy.
    assert before == 0
    assert client.stats().pending == 5  # the parent's 4 buffered + the child's 1 stored
    client.close(timeout=0.5)
    ids = stored_ids(queue_path)
    assert sorted(ids) == sorted([*parent_ids, child_id])  # each once: nothing doubled


KILL_CHILD = """
import sys, time
import pingsdk
from tests.delivery.pings import SearchCounts
client = pingsdk.PingClient({endpoint!r}, queue_path={queue!r}, durability="buffered",
                            buffer_delay={delay!r}, uploader={uploader!r})
print("ready", flush=True)
i = 0
while True:
    doc_id = client.submit(SearchCounts(engine="kill", count=i))
    print(doc_id, time.monotonic(), flush=True)
    i += 1
    time.sleep(0.001)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("delay", [0.05, 0.2])
def test_sigkill_loses_at_most_the_buffer_window(
    delivery_edge: EdgeServer, tmp_path: Path, delay: float
) -> None:
    """Every ping submitted more than ``buffer_delay`` (+ scheduling margin) before a SIGKILL
    is on disk or delivered; what is lost lies in that last window only."""
    sigkill_rounds(delivery_edge, tmp_path, delay, "thread")


def sigkill_rounds(delivery_edge: EdgeServer, tmp_path: Path, delay: float, uploader: str) -> None:
    """SIGKILL a buffered client four times; check that only the last window is lost."""
    env = child_env()
    lost_total = 0
    for rnd in range(4):
        queue = tmp_path / f"kill-{rnd}.db"
        script = textwrap.dedent(KILL_CHILD).format(
            endpoint=delivery_edge.url, queue=str(queue), delay=delay, uploader=uploader
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
        )
        lines: list[str] = []

        def read(proc: subprocess.Popen[str] = proc, lines: list[str] = lines) -> None:
            assert proc.stdout is not None
            lines.extend(line.strip() for line in proc.stdout)

        reader = threading.Thread(target=read)
        reader.start()
        start = time.monotonic()
        while not lines and time.monotonic() - start < 20:
            time.sleep(0.01)
        assert lines and lines[0] == "ready", "child did not start"
        time.sleep(0.3 + 0.15 * rnd)
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        submitted = [(line.split()[0], float(line.split()[1])) for line in lines[1:] if " " in line]
        assert len(submitted) > 50, "the child hardly submitted"
        kept = set(stored_ids(queue)) | {p.doc_id for p in delivery_edge.accepted()}
        lost = [(doc_id, at) for doc_id, at in submitted if doc_id not in kept]
        window_start = killed_at - delay - MARGIN
        too_old = [doc_id for doc_id, at in lost if at < window_start]
        assert not too_old, (
            f"{len(too_old)} ping(s) submitted more than buffer_delay={delay} + {MARGIN} s "
            f"before the kill were lost ({len(lost)} lost in all)"
        )
        in_window = sum(1 for _, at in submitted if at >= window_start)
        assert len(lost) <= in_window
        lost_total += len(lost)
    print(f"buffer_delay={delay}: {lost_total} ping(s) lost over 4 kills, all in the window")


def test_buffered_row_is_the_row_process_durability_stores(queue_path: Path) -> None:
    # Compression and headers wait for the commit: the stored row must not differ for it.
    ping = SearchCounts(engine="same", count=7)
    client = pingsdk.PingClient(
        refused_url(),
        queue_path=queue_path,
        durability="buffered",
        buffer_delay=LONG,
        debug_id="buf-1",
    )
    doc_id = client.submit(ping)
    client.close(timeout=0.2)
    queue = PingQueue(queue_path)
    try:
        (row,) = queue.claim(1, ignore_schedule=True)
    finally:
        queue.close()
    expected = prepare_ping(ping, client.config, upload_enabled=True)
    assert row.doc_id == doc_id
    assert row.body == expected.body  # the same deterministic gzip
    assert gzip.decompress(row.body) == ping.to_json_bytes()
    assert dict(row.headers) == dict(expected.headers)
    assert row.path == expected.path.replace(expected.doc_id, doc_id)
