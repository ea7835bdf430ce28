"""``uploader="process"``: the engine in a sender process the client starts and stops.

Real parts only: the edge on 127.0.0.1, the queue file, the sender process, and processes
SIGKILLed where the tests claim crash safety (the client's and the sender's).
"""

from __future__ import annotations

import logging
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
from pingsdk._queue import PingQueue
from pingsdk.edge import EdgeServer, FaultPlan
from tests.delivery.pings import SearchCounts
from tests.delivery.test_delivery_buffered import (
    LONG,
    MARGIN,
    refused_url,
    sigkill_rounds,
    stored_ids,
    stored_within,
)
from tests.support import child_env


def _sender_pid(client: pingsdk.PingClient) -> int:
    sender = client._runner._sender  # type: ignore[union-attr]
    assert sender is not None
    return int(sender.proc.pid)


def _gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` ended (exited, or a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in "ZX":
            return True
        time.sleep(0.05)
    return False


def _paths(edge: EdgeServer) -> list[str]:
    return [ping.path for ping in edge.accepted()]


@pytest.mark.timeout(60)
def test_pings_go_out_from_another_process_with_stats_and_callbacks(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    sent: list[pingsdk.DeliveryReport] = []
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, uploader="process", on_sent=sent.append
    ) as client:
        ids = [client.submit(SearchCounts(engine="proc", count=i)) for i in range(300)]
        assert client.flush(timeout=30.0)
        stats = client.stats()
        pid = _sender_pid(client)
        # Nothing of the engine runs in this process: no uploader thread, no loop.
        names = {thread.name for thread in threading.enumerate()}
        assert "pingsdk-uploader" not in names
        assert pid != os.getpid()
    assert (stats.submitted, stats.sent, stats.pending) == (300, 300, 0)
    assert sorted(report.doc_id for report in sent) == sorted(ids)
    assert sorted(_paths(delivery_edge)) == sorted(
        f"/submit/delivery-test/search-counts/1/{doc_id}" for doc_id in ids
    )
    assert _gone(pid, within=5.0), "close() left the sender process running"


@pytest.mark.timeout(60)
def test_drops_reach_on_dropped_and_the_applications_log(
    delivery_edge: EdgeServer, queue_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("400",), seed=1))
    dropped: list[pingsdk.DeliveryReport] = []
    caplog.set_level(logging.WARNING, logger="pingsdk")
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, uploader="process", on_dropped=dropped.append
    ) as client:
        doc_id = client.submit(SearchCounts(engine="bad", count=1))
        assert client.flush(timeout=20.0)  # nothing left: it was dropped
        assert client.stats().dropped == {"http_400": 1}
    assert [(r.doc_id, r.reason, r.status) for r in dropped] == [(doc_id, "http_400", 400)]
    lines = [r.getMessage() for r in caplog.records if r.name == "pingsdk"]
    assert any(f"dropped ping {doc_id}" in line for line in lines), lines


@pytest.mark.timeout(60)
def test_a_killed_sender_is_replaced_and_nothing_is_lost(
    delivery_edge: EdgeServer, queue_path: Path, fast_retry: pingsdk.RetryPolicy
) -> None:
    with pingsdk.PingClient(
        delivery_edge.url, queue_path=queue_path, uploader="process", retry=fast_retry, timeout=1.0
    ) as client:
        first = [client.submit(SearchCounts(engine="a", count=i)) for i in range(50)]
        assert client.flush(timeout=20.0)
        old = _sender_pid(client)
        delivery_edge.set_faults(FaultPlan(rate=1.0, kinds=("timeout",), hold=5.0))
        held = [client.submit(SearchCounts(engine="b", count=i)) for i in range(20)]
        time.sleep(0.3)  # its requests are on the wire, unanswered
        os.kill(old, signal.SIGKILL)
        assert _gone(old, within=5.0)
        delivery_edge.set_faults(None)
        time.sleep(0.1)
        later = [client.submit(SearchCounts(engine="c", count=i)) for i in range(20)]
        # The killed sender's leases expire (lease_seconds = max(5, 3 * timeout)); a flush
        # then sends everything, from a new sender.
        assert client.flush(timeout=30.0), client.stats()
        assert _sender_pid(client) != old
    arrived = {ping.doc_id for ping in delivery_edge.accepted()}
    assert set(first + held + later) <= arrived


CLIENT = """
import sys, time
import pingsdk
from tests.delivery.pings import SearchCounts
client = pingsdk.PingClient({endpoint!r}, queue_path={queue!r}, uploader="process")
ids = [client.submit(SearchCounts(engine="orphan", count=i)) for i in range(20)]
assert client.flush(timeout=20.0)
print(client._runner._sender.proc.pid, flush=True)
{after}
"""


def _client_process(endpoint: str, queue: Path, after: str) -> tuple[subprocess.Popen[str], int]:
    script = textwrap.dedent(CLIENT).format(endpoint=endpoint, queue=str(queue), after=after)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"the client process did not start: {line!r}"
    return proc, int(line)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_sender_does_not_outlive_a_sigkilled_client(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    proc, sender = _client_process(
        delivery_edge.url,
        queue_path,
        "for i in range(10**6):\n"
        "    client.submit(SearchCounts(engine='x', count=i))\n"
        "    time.sleep(0.001)",
    )
    time.sleep(0.3)
    proc.kill()
    proc.wait(10)
    assert proc.stdout is not None
    proc.stdout.close()
    assert _gone(sender, within=10.0), "the sender process outlived its client"
    # What the killed client stored is still there, and a new client sends it.
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path) as client:
        assert client.flush(timeout=30.0)
    assert len(delivery_edge.accepted()) >= 20


@pytest.mark.timeout(60)
def test_the_exit_hook_flushes_through_the_sender(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    delivery_edge.set_faults(FaultPlan(rate=0.0))
    proc, sender = _client_process(
        delivery_edge.url,
        queue_path,
        "late = [client.submit(SearchCounts(engine='late', count=i)) for i in range(30)]\n"
        "print(' '.join(late), flush=True)",
    )
    assert proc.stdout is not None
    late = proc.stdout.readline().split()
    assert proc.wait(20) == 0
    proc.stdout.close()
    assert len(late) == 30
    assert set(late) <= {ping.doc_id for ping in delivery_edge.accepted()}
    assert _gone(sender, within=5.0)


@pytest.mark.timeout(30)
def test_close_is_bounded_when_the_edge_never_answers(black_hole: str, queue_path: Path) -> None:
    client = pingsdk.PingClient(black_hole, queue_path=queue_path, uploader="process", timeout=5.0)
    client.submit(SearchCounts(engine="stuck", count=1))
    assert not client.flush(timeout=0.5)  # started; its request hangs
    pid = _sender_pid(client)
    started = time.monotonic()
    assert client.close(timeout=1.0) is False
    took = time.monotonic() - started
    assert took < 2.0, took
    assert _gone(pid, within=2.0)
    with PingQueue(queue_path) as queue:
        assert queue.stats().pending == 1  # not lost: released (or its lease expires)


@pytest.mark.timeout(60)
def test_a_fork_child_starts_its_own_sender(delivery_edge: EdgeServer, queue_path: Path) -> None:
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader="process") as client:
        client.submit(SearchCounts(engine="parent", count=0))
        assert client.flush(timeout=20.0)
        parent_sender = _sender_pid(client)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                doc_id = client.submit(SearchCounts(engine="child", count=1))
                ok = client.flush(timeout=20.0)
                own = _sender_pid(client)
                os.write(write, f"{doc_id} {ok} {own}\n".encode())
                client.close(timeout=5.0)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as pipe:
            doc_id, ok, child_sender = pipe.read().split()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert ok == "True"
        assert int(child_sender) != parent_sender
        # The parent's sender still serves the parent.
        after = client.submit(SearchCounts(engine="parent", count=2))
        assert client.flush(timeout=20.0)
        assert _sender_pid(client) == parent_sender
    arrived = {ping.doc_id for ping in delivery_edge.accepted()}
    assert {doc_id, after} <= arrived


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"queue_path": ":memory:"}, "':memory:'"),
        ({"uploader": "processes"}, "uploader must be"),
        ({"uploader": 1}, "uploader must be"),
    ],
)
def test_settings_that_cannot_work_with_a_sender_process(
    settings: dict[str, object], message: str, tmp_path: Path
) -> None:
    options: dict[str, object] = {"queue_path": tmp_path / "q.db", "uploader": "process"}
    options.update(settings)
    with pytest.raises(pingsdk.ConfigurationError, match=message):
        pingsdk.PingClient("http://127.0.0.1:1", **options)  # type: ignore[arg-type]


def test_a_transport_cannot_go_to_a_sender_process(tmp_path: Path) -> None:
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with pytest.raises(pingsdk.ConfigurationError, match="transport="):
        pingsdk.PingClient(
            "http://127.0.0.1:1",
            queue_path=tmp_path / "q.db",
            uploader="process",
            transport=transport,
        )


@pytest.mark.anyio
async def test_the_async_client_sends_through_a_sender_process(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    sent: list[pingsdk.DeliveryReport] = []
    async with pingsdk.AsyncPingClient(
        delivery_edge.url, queue_path=queue_path, uploader="process", on_sent=sent.append
    ) as client:
        ids = [await client.submit(SearchCounts(engine="async", count=i)) for i in range(30)]
        assert await client.flush(timeout=20.0)
        stats = client.stats()
        pid = _sender_pid(client)  # type: ignore[arg-type]
        # Nothing of the engine runs on this loop.
        import asyncio

        names = {task.get_name() for task in asyncio.all_tasks()}
        assert "pingsdk-uploader" not in names
        await client.set_upload_enabled(False)  # purges through the sender
        assert client.stats().pending == 0
    assert (stats.submitted, stats.sent, stats.pending) == (30, 30, 0)
    assert sorted(r.doc_id for r in sent) == sorted(ids)
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)
    assert _gone(pid, within=5.0)


def _wakeups(pid: int) -> int:
    """Voluntary context switches of every thread of process ``pid`` so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


@pytest.mark.timeout(30)
def test_an_idle_sender_sleeps(delivery_edge: EdgeServer, queue_path: Path) -> None:
    """A desktop application's sender must not wake up dozens of times a second for nothing
    (its outbox waited on a 20 ms timer)."""
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader="process") as client:
        client.submit(SearchCounts(engine="idle", count=1))
        assert client.flush(timeout=10.0)
        pid = _sender_pid(client)
        time.sleep(0.5)
        before = _wakeups(pid)
        time.sleep(2.0)
        woke = _wakeups(pid) - before
    # Its idle poll (every 2 s) and parent check (every 1 s): a handful.
    assert woke < 20, woke


@pytest.mark.timeout(30)
def test_a_flush_right_after_the_start_is_answered(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    """Pings left by an earlier run start the sender in the constructor; a flush at once is
    written to the sender's pipe together with its settings, and must not wait for more."""
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader=False) as store:
        ids = [store.submit(SearchCounts(engine="left", count=i)) for i in range(5)]
        store.close(timeout=0.0)
    with pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader="process") as client:
        started = time.monotonic()
        assert client.flush(timeout=10.0)
        assert time.monotonic() - started < 5.0
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)


def test_the_senders_outbox_ends_when_stopped_during_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stop that comes while the outbox gathers a batch must still end it (it was lost, and
    every close of a busy sender waited a second more and was killed at its deadline)."""
    from pingsdk._delivery import _sender_process

    outbox = _sender_process._Outbox()
    monkeypatch.setattr(_sender_process, "_write", lambda data: None)
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        outbox.stop()  # the sender closes while its outbox waits for a batch
        real_sleep(seconds)

    monkeypatch.setattr(_sender_process.time, "sleep", sleep)
    thread = threading.Thread(target=outbox.run)
    outbox.counters.add("sent")
    thread.start()
    thread.join(2.0)
    assert not thread.is_alive()


# -- durability="buffered" with a sender process: the buffer is committed in this process --


def test_buffered_pings_are_committed_within_the_delay_and_counted(queue_path: Path) -> None:
    with pingsdk.PingClient(
        refused_url(),
        queue_path=queue_path,
        uploader="process",
        durability="buffered",
        buffer_delay=0.05,
    ) as client:
        doc_id = client.submit(SearchCounts(engine="b", count=1))
        assert stored_within(queue_path, 0.05 + MARGIN) == [doc_id]
        assert client.stats().pending == 1
        client.close(timeout=0.2)


def test_buffered_pings_go_out_at_flush_and_close_stores_the_rest(
    delivery_edge: EdgeServer, queue_path: Path, tmp_path: Path
) -> None:
    with pingsdk.PingClient(
        delivery_edge.url,
        queue_path=queue_path,
        uploader="process",
        durability="buffered",
        buffer_delay=LONG,
    ) as client:
        ids = [client.submit(SearchCounts(engine="b", count=i)) for i in range(20)]
        assert client.stats().pending == 20
        assert client.flush(timeout=10.0)
        assert (client.stats().sent, client.stats().pending) == (20, 0)
    assert {p.doc_id for p in delivery_edge.accepted()} == set(ids)
    other = tmp_path / "other.db"
    client = pingsdk.PingClient(
        refused_url(),
        queue_path=other,
        uploader="process",
        durability="buffered",
        buffer_delay=LONG,
    )
    kept = [client.submit(SearchCounts(engine="k", count=i)) for i in range(5)]
    assert client.close(timeout=0.5) is False  # the edge refuses: stored, not sent
    assert sorted(stored_ids(other)) == sorted(kept)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_buffered_sigkill_loses_at_most_the_window(
    delivery_edge: EdgeServer, tmp_path: Path
) -> None:
    sigkill_rounds(delivery_edge, tmp_path, 0.05, "process")


@pytest.mark.parametrize("executable", ["/usr/local/bin/uwsgi", "/opt/app/MyApp", ""])
def test_a_sender_needs_a_python_interpreter(
    executable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded in uWSGI or frozen, ``sys.executable`` would start the server or the
    application again, not a sender."""
    monkeypatch.setattr(sys, "executable", executable)
    with pytest.raises(pingsdk.ConfigurationError, match="not a Python interpreter"):
        pingsdk.PingClient("http://127.0.0.1:1", queue_path=tmp_path / "q.db", uploader="process")


SIGPIPE_CLIENT = """
import os, signal, time
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as CLI tools do, for `... | head`
import pingsdk
from pingsdk._delivery import _process_runner
from tests.delivery.pings import SearchCounts
# The reader would notice the sender's end at once; here the client must write to it first.
_process_runner.ProcessRunner._read = lambda self, sender: None
client = pingsdk.PingClient({endpoint!r}, queue_path={queue!r}, uploader="process")
client.submit(SearchCounts(engine="pipe", count=0))
sender = client._runner._sender
sender.proc.kill()
sender.proc.wait()
time.sleep(0.1)
client._runner._wake(force=True)
sender.say("f 1 0 1", time.monotonic() + 1.0)
print("alive", flush=True)
os._exit(0)
"""


@pytest.mark.timeout(60)
def test_writing_to_a_dead_sender_never_raises_sigpipe(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    script = textwrap.dedent(SIGPIPE_CLIENT).format(
        endpoint=delivery_edge.url, queue=str(queue_path)
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "alive\n"), done.stderr[-2000:]


@pytest.mark.timeout(30)
def test_glean_pings_wake_the_sender(queue_path: Path) -> None:
    """pingsdk.glean stores its pings itself and then wakes the client's engine: with a sender
    process that wake-up must reach the sender (it looked again only at its idle poll)."""
    from pingsdk.glean import GleanApp
    from tests.glean.support import METRICS_YAML, PINGS_YAML

    with EdgeServer() as edge:
        client = pingsdk.PingClient(edge.url, queue_path=queue_path, uploader="process")
        try:
            app = GleanApp("org.example.sender", client=client)
            metrics = app.load_metrics(METRICS_YAML)
            pings = app.load_pings(PINGS_YAML)
            client.submit(SearchCounts(engine="start", count=0))  # the sender runs and idles
            assert client.flush(timeout=10.0)
            time.sleep(0.5)
            metrics.service_core.requests.add(2)
            assert pings.service.submit("periodic") is not None
            # Delivered well before the sender's 2-second idle poll, without a flush.
            assert edge.wait_for(2, timeout=1.0), [p.doctype for p in edge.received()]
        finally:
            client.close()
        assert sorted(p.doctype for p in edge.received()) == ["search-counts", "service"]


@pytest.mark.timeout(60)
def test_close_after_a_sender_was_replaced_tells_the_truth(
    delivery_edge: EdgeServer, queue_path: Path
) -> None:
    """The replaced sender's end must not answer for its successor: close() said False (the
    old sender's end counted as "no confirmation") although everything was sent."""
    client = pingsdk.PingClient(delivery_edge.url, queue_path=queue_path, uploader="process")
    client.submit(SearchCounts(engine="first", count=0))
    assert client.flush(timeout=10.0)
    old = _sender_pid(client)
    os.kill(old, signal.SIGKILL)
    assert _gone(old, within=5.0)
    time.sleep(0.2)  # the client notices; the next submit starts a new sender
    client.submit(SearchCounts(engine="second", count=1))
    assert client.flush(timeout=10.0)
    assert _sender_pid(client) != old
    assert client.close(timeout=5.0) is True


@pytest.mark.timeout(30)
def test_close_with_pings_left_says_so_once_and_closes_the_queue(
    queue_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sender answered "nothing left?" where the client asked "stopped?": with pings left
    the client took it for a failed stop and never closed its own queue connection."""
    caplog.set_level(logging.INFO, logger="pingsdk")
    client = pingsdk.PingClient(refused_url(), queue_path=queue_path, uploader="process")
    for i in range(3):
        client.submit(SearchCounts(engine="left", count=i))
    assert client.flush(timeout=0.3) is False  # the sender runs; the edge refuses
    assert client.close(timeout=2.0) is False  # three left: not everything was sent
    assert client._engine.queue._closed, "close() left the client's queue connection open"
    left = [r.getMessage() for r in caplog.records if "stay queued" in r.getMessage()]
    assert left == ["3 ping(s) stay queued for the next start"], left
