"""Issue 8, waits and exit: the asyncio client never blocks its loop on another process's
lock, close() keeps its deadline and never raises, and one failing client never stops the
exit hook from flushing the others."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import pingsdk
from tests.delivery.pings import SearchCounts
from tests.delivery.servers import scripted_server
from tests.support import child_env

MARGIN = 0.75  # deadlines, not speed: generous for a loaded 2-core CI box

HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_open_lock(queue: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the queue's open lock (as one opening the file would)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(queue), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.skipif(sys.platform == "win32", reason="the open lock is POSIX flock")
@pytest.mark.anyio
async def test_async_submit_never_blocks_the_event_loop_on_a_lock(tmp_path: Path) -> None:
    queue = tmp_path / "q.db"
    client = pingsdk.AsyncPingClient("https://e.example.com", queue_path=queue, uploader=False)
    holder = _hold_open_lock(queue, 2.0)
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    task = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        ticks.append(started)
        doc_id = await client.submit(SearchCounts(engine="x", count=1))
        waited = time.monotonic() - started
        await asyncio.sleep(0)
        ticks.append(time.monotonic())
    finally:
        task.cancel()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    assert waited > 1.0  # the lock really was in the way (it blocked the loop 2 s before)
    longest_gap = max(b - a for a, b in itertools.pairwise(ticks))
    assert longest_gap < 0.5, f"the event loop stalled {longest_gap:.2f} s"
    assert await client.close(1.0) is False  # stored, for the other process to send
    with pingsdk.PingClient("https://e.example.com", queue_path=queue, uploader=False) as c:
        assert c.stats().pending == 1
    assert doc_id


@pytest.mark.skipif(sys.platform == "win32", reason="the open lock is POSIX flock")
def test_close_keeps_its_deadline_and_never_raises_on_a_locked_queue(tmp_path: Path) -> None:
    queue = tmp_path / "q.db"
    client = pingsdk.PingClient("https://e.example.com", queue_path=queue, uploader=False)
    holder = _hold_open_lock(queue, 4.0)
    try:
        started = time.monotonic()
        assert client.close(timeout=1.0) is False  # not known to be empty: not True
        assert time.monotonic() - started < 1.0 + MARGIN
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


EXIT_HOOK = """
import sys
import pingsdk
from tests.delivery.pings import SearchCounts

def broken(timeout=2.0):
    raise RuntimeError("close failed")

bad = []
for _ in range(20):
    client = pingsdk.PingClient({url!r}, queue_path=":memory:")
    client.close = broken
    bad.append(client)
good = pingsdk.PingClient(
    {url!r}, queue_path=":memory:",
    retry=pingsdk.RetryPolicy(initial_delay=0.3, max_delay=0.3, jitter=False),
)
good.submit(SearchCounts(engine="good", count=1))
# exit without closing: the exit hook must flush the good client whatever the others do
"""


def test_one_client_failing_at_exit_does_not_stop_the_others(tmp_path: Path) -> None:
    answers = iter([500])
    with scripted_server(lambda path: (next(answers, 200), {}, b"")) as (url, seen):
        script = textwrap.dedent(EXIT_HOOK).format(url=url)
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
        paths = seen.paths()
    assert proc.returncode == 0, proc.stderr
    assert len(paths) == 2 and len(set(paths)) == 1  # a 500, then the retry at exit: 200
    assert proc.stderr.count("RuntimeError: close failed") == 20
