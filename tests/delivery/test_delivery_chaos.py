"""Chaos: random faults, row corruption, edge restarts and SIGKILLs at once (issue #8).

Two application processes share one queue file, each sending to its own edge (two real
``pingsdk serve`` processes on 127.0.0.1): edge A is restarted again and again, edge B answers
5xx, 429, resets and hangs at random. Meanwhile the test SIGKILLs and restarts the applications
and damages random rows of the queue file. At the end every ping an application saw accepted by
``submit()`` must be delivered to its own edge or be accounted for (quarantined as damaged), no
ping may reach the other edge, and a docId may arrive twice only as a retry of the same ping.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pingsdk.edge._store import open_readonly

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]

APP = textwrap.dedent(
    """
    import os, sys, time, random
    from pydantic import Field
    import pingsdk

    class Event(pingsdk.Ping, namespace="chaos", doctype="event", version=1):
        \"\"\"One event of the chaos test.\"\"\"
        producer: str = Field(description="Which application.")
        seq: int = Field(ge=0, description="Sequence number within the application.")

    name, endpoint, queue, log, start = sys.argv[1:6]
    seq = int(start)
    client = pingsdk.PingClient(
        endpoint,
        queue_path=queue,
        retry=pingsdk.RetryPolicy(initial_delay=0.2, max_delay=1.0, max_retry_after=1.0),
        timeout=1.0,
        atexit_timeout=0.0,
        uploader=os.environ["CHAOS_UPLOADER"],
    )
    rng = random.Random(os.getpid())
    with open(log, "a") as out:
        print("ready", flush=True)
        while seq < int(os.environ["CHAOS_PINGS"]):
            doc_id = client.submit(Event(producer=name, seq=seq))
            # Logged only after submit() returned: what the application saw accepted.
            out.write(f"{seq} {doc_id}\\n")
            out.flush()
            os.fsync(out.fileno())
            seq += 1
            time.sleep(rng.uniform(0.0, 0.01))
        print("done", flush=True)
        time.sleep(3600)  # a service: stays up, its uploader sending, until killed
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Edge:
    """A ``pingsdk serve`` process that can be stopped and started on the same port and db."""

    def __init__(self, db: Path, *faults: str) -> None:
        self.db = db
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults = list(faults)
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "pingsdk", "serve", "--port", str(self.port)]
        cmd += ["--db", str(self.db), *self.faults]
        log = self.db.with_suffix(".stderr")
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT
            )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if self.url not in first:
            self.stop()
            raise AssertionError(f"the edge did not start: {first!r} {log.read_text()[-800:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class App:
    """An application process: submits CHAOS_PINGS pings, logging each accepted docId."""

    def __init__(
        self, name: str, endpoint: str, queue: Path, log: Path, total: int, uploader: str
    ) -> None:
        self.name, self.endpoint, self.queue, self.log = name, endpoint, queue, log
        self.total = total
        self.uploader = uploader
        self.proc: subprocess.Popen[str] | None = None
        self.kills = 0

    def logged(self) -> list[tuple[int, str]]:
        if not self.log.exists():
            return []
        rows = []
        for line in self.log.read_text().splitlines():
            seq, doc_id = line.split()
            rows.append((int(seq), doc_id))
        return rows

    def start(self) -> None:
        logged = self.logged()
        start = logged[-1][0] + 1 if logged else 0
        env = dict(os.environ, CHAOS_PINGS=str(self.total), CHAOS_UPLOADER=self.uploader)
        argv = [self.name, self.endpoint, str(self.queue), str(self.log), str(start)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP, *argv], stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
            self.kills += 1


def _damage_one_row(queue: Path, rng: random.Random) -> None:
    """Overwrite one random row's body as a disk fault would, behind pingsdk's back."""
    try:
        conn = sqlite3.connect(queue, timeout=2)
        conn.execute(
            "UPDATE pings SET body = randomblob(40) WHERE id = "
            "(SELECT id FROM pings WHERE body IS NOT NULL ORDER BY random() LIMIT 1)"
        )
        conn.commit()
        conn.close()
    except sqlite3.Error:
        pass  # busy: skip this round
    rng.random()


@pytest.fixture
def chaos_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_chaos_every_accepted_ping_is_delivered_or_accounted_for(chaos_dir: Path) -> None:
    _chaos(chaos_dir, "thread")


def test_chaos_with_sender_processes(chaos_dir: Path) -> None:
    """The same, each application sending through a sender process of its own
    (``uploader="process"``): SIGKILLing an application leaves its sender to exit by itself."""
    _chaos(chaos_dir, "process")


def _chaos(chaos_dir: Path, uploader: str) -> None:
    rng = random.Random(8)
    queue = chaos_dir / "pings.db"
    edge_a = Edge(chaos_dir / "a.db")
    edge_b = Edge(
        chaos_dir / "b.db",
        "--fault-rate",
        "0.25",
        "--fault-kinds",
        "500,503,429,reset,timeout",
        "--retry-after",
        "0",
        "--seed",
        "8",
    )
    total = 400
    apps = [
        App("a", edge_a.url, queue, chaos_dir / "a.log", total, uploader),
        App("b", edge_b.url, queue, chaos_dir / "b.log", total, uploader),
    ]
    edges = [edge_a, edge_b]
    for edge in edges:
        edge.start()
    try:
        for app in apps:
            app.start()
        damaged = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.0))
            action = rng.choice(["kill", "restart-edge", "damage", "kill", "damage"])
            if action == "kill":
                app = rng.choice(apps)
                app.kill()
                app.start()
            elif action == "restart-edge":
                edge_a.stop()
                time.sleep(rng.uniform(0.3, 2.0))
                edge_a.start()
            else:
                _damage_one_row(queue, rng)
                damaged += 1
        # Calm: every application runs to its last ping, then delivery must finish.
        for app in apps:
            if app.proc is None or app.proc.poll() is not None:
                app.start()
        edge_b.stop()
        edge_b.faults = []
        edge_b.start()
        finish = time.monotonic() + 60
        while time.monotonic() < finish:
            if all(len(app.logged()) >= total for app in apps) and _pending(queue) == 0:
                break
            time.sleep(0.5)
        assert [len(app.logged()) for app in apps] == [total, total]
        assert _pending(queue) == 0, f"left undelivered after the chaos: {_left(queue)}"
    finally:
        for app in apps:
            app.kill()
        for edge in edges:
            edge.stop()
    if uploader == "process":
        # Every application was SIGKILLed, some of them many times: no sender may be left.
        gone_by = time.monotonic() + 10
        while _senders() and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not _senders(), "sender processes outlived their SIGKILLed applications"

    quarantined = _quarantined(queue)
    for app, edge, other in ((apps[0], edge_a, edge_b), (apps[1], edge_b, edge_a)):
        accepted = {doc_id: seq for seq, doc_id in app.logged()}
        mine = [p for p in open_readonly(edge.db).pings() if p.status == 200]
        theirs = [p for p in open_readonly(other.db).pings()]
        received: dict[str, set[int]] = {}
        for record in mine:
            assert record.payload is not None and record.doc_id is not None
            received.setdefault(record.doc_id, set()).add(record.payload["seq"])
        # Never to the other edge.
        assert not {p.doc_id for p in theirs} & set(accepted)
        # A docId arriving twice is the same ping (a retry after a crash), never another one.
        assert all(len(seqs) == 1 for seqs in received.values())
        # Every accepted ping arrived, or was quarantined because the test damaged it.
        missing = set(accepted) - set(received) - quarantined
        assert missing == set(), f"{app.name}: {len(missing)} accepted ping(s) lost"
        # Nothing arrived that the application did not submit. A kill between submit()
        # returning and the log line leaves one unlogged ping, whose sequence number the
        # restarted application submits again (a new ping, a new docId): at most one per kill.
        unknown = set(received) - set(accepted)
        assert len(unknown) <= app.kills
        for doc_id in unknown:
            (seq,) = received[doc_id]
            assert seq in accepted.values()
    assert damaged > 0 and apps[0].kills + apps[1].kills > 0
    summary = {
        "kills": [a.kills for a in apps],
        "damaged": damaged,
        "quarantined": len(quarantined),
    }
    print(json.dumps(summary))


def _senders() -> list[int]:
    """Live sender processes (``uploader="process"``) of this machine, zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if b"pingsdk._delivery._sender_process" in cmdline and state not in "ZX":
            found.append(int(entry.name))
    return found


def _pending(queue: Path) -> int:
    conn = sqlite3.connect(queue, timeout=5)
    try:
        (count,) = conn.execute("SELECT count(*) FROM pings").fetchone()
    finally:
        conn.close()
    return int(count)


def _left(queue: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(queue, timeout=5)
    try:
        return conn.execute(
            "SELECT endpoint, count(*), max(attempts), min(next_attempt_at) - unixepoch(), "
            "max(hold_until) - unixepoch(), count(lease_owner), last_status FROM pings "
            "GROUP BY endpoint, last_status"
        ).fetchall()
    finally:
        conn.close()


def _quarantined(queue: Path) -> set[str]:
    conn = sqlite3.connect(queue, timeout=5)
    try:
        rows = conn.execute("SELECT CAST(doc_id AS BLOB) FROM quarantine").fetchall()
    finally:
        conn.close()
    return {bytes(r[0]).decode("utf-8", "replace") for r in rows}
