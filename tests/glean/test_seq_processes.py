"""``seq`` is gap-free across a SIGKILL, a restart and concurrent processes on one queue file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.glean.support import METRICS_YAML, PINGS_YAML, AppFactory, stored_pings
from tests.support import child_env

# Records and submits in a loop, printing each stored ping's doc id; stops after LIMIT (0 = never).
CHILD = r"""
import sys
from pingsdk import PingClient
from pingsdk.glean import GleanApp

queue, metrics_yaml, pings_yaml, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = PingClient("http://127.0.0.1:9", queue_path=queue, uploader=False)
app = GleanApp("org.example.My_Service", client=client)
metrics = app.load_metrics(metrics_yaml)
pings = app.load_pings(pings_yaml)
done = 0
while limit == 0 or done < limit:
    metrics.service_core.requests.add()
    if pings.service.submit() is not None:
        done += 1
        print(done, flush=True)
client.close(0.5)
"""


def _child(queue: Path, limit: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(queue), str(METRICS_YAML), str(PINGS_YAML), str(limit)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def _seqs(queue: Path) -> list[int]:
    return sorted(
        p["ping_info"]["seq"] for path, p, _ in stored_pings(queue) if "/service/" in path
    )


@pytest.mark.slow
def test_seq_gap_free_across_sigkill_and_restart(queue_file: Path) -> None:
    child = _child(queue_file, 0)
    assert child.stdout is not None
    for _ in range(30):  # let it store a few pings, then kill it mid-loop
        assert child.stdout.readline(), "the child stopped early"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    before = _seqs(queue_file)
    assert len(before) >= 30
    assert before == list(range(len(before)))

    restarted = _child(queue_file, 10)
    out, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, out
    assert _seqs(queue_file) == list(range(len(before) + 10))


@pytest.mark.slow
def test_seq_gap_free_with_two_processes_on_one_file(queue_file: Path) -> None:
    children = [_child(queue_file, 25) for _ in range(2)]
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0, out
    assert _seqs(queue_file) == list(range(50))


def test_seq_survives_a_restart_in_process(make_app: AppFactory, queue_file: Path) -> None:
    app = make_app()
    app.load_pings(PINGS_YAML).heartbeat.submit()
    app.close()
    again = make_app()
    again.load_pings(PINGS_YAML).heartbeat.submit()
    seqs = [p["ping_info"]["seq"] for _, p, _ in stored_pings(queue_file)]
    assert sorted(seqs) == [0, 1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_while_another_thread_submits(make_app: AppFactory, queue_file: Path) -> None:
    import threading

    app = make_app()
    pings = app.load_pings(PINGS_YAML)
    metrics = app.load_metrics(METRICS_YAML)
    holding = threading.Event()
    release = threading.Event()

    def before(reason: str | None) -> None:  # runs with the storage lock held
        holding.set()
        release.wait(10)

    pings.service.test_before_next_submit(before)
    metrics.service_core.requests.add()
    submitter = threading.Thread(target=pings.service.submit)
    submitter.start()
    assert holding.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: the lock the parent's thread holds must not block it
        code = 0
        try:
            metrics.service_core.requests.add()
            code = 0 if metrics.service_core.requests.test_get_value() == 2 else 1
        finally:
            os._exit(code)
    release.set()
    submitter.join(10)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:  # still blocked: do not leave it behind
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child blocked on a lock held by the parent's thread")
    assert os.waitstatus_to_exitcode(done[1]) == 0
