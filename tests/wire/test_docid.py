"""Document ids: canonical uuid7, unique across threads, across fork, and against other uuid6
callers; check_doc_id."""

from __future__ import annotations

import os
import select
import threading
import types
import uuid

import pytest
import uuid6

from pingsdk import ConfigurationError
from pingsdk.wire import _docid
from pingsdk.wire._docid import check_doc_id, new_doc_id

pytestmark = pytest.mark.filterwarnings(
    # Python >= 3.12 warns about fork() in a process that has (had) threads; that is the point.
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def test_canonical_uuid7() -> None:
    doc_id = new_doc_id()
    parsed = uuid.UUID(doc_id)
    assert str(parsed) == doc_id == doc_id.lower()
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert check_doc_id(doc_id) == doc_id


def test_time_ordered_within_a_thread() -> None:
    ids = [new_doc_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_unique_across_8_threads_x_20k() -> None:
    results: list[list[str]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(out: list[str]) -> None:
        barrier.wait()
        out.extend(new_doc_id() for _ in range(20_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_ids = [doc_id for out in results for doc_id in out]
    assert len(all_ids) == 160_000
    assert len(set(all_ids)) == 160_000
    # Every id's 48-bit timestamp is distinct too: uniqueness does not rest on the random bits.
    assert len({doc_id[:13] for doc_id in all_ids}) == 160_000
    for out in results:
        assert out == sorted(out)


def test_unique_when_others_call_uuid6_without_the_lock() -> None:
    stop = threading.Event()

    def rogue() -> None:
        while not stop.is_set():
            uuid6.uuid7()

    threads = [threading.Thread(target=rogue) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        ids = [new_doc_id() for _ in range(30_000)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert len({doc_id[:13] for doc_id in ids}) == len(ids)
    assert ids == sorted(ids)


def test_unique_even_if_uuid6_state_goes_backwards(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_doc_id()
    monkeypatch.setattr(uuid6, "_last_v7_timestamp", 0)
    # A clock far behind (1970) and a uuid6 state reset, as another uuid6 caller could leave it.
    monkeypatch.setattr(uuid6, "time", types.SimpleNamespace(time_ns=lambda: 1_000_000))
    later = [new_doc_id() for _ in range(10)]
    assert [first, *later] == sorted({first, *later})


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_unique_across_fork() -> None:
    before = new_doc_id()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            ids = [new_doc_id() for _ in range(20_000)]
            os.write(write_fd, "\n".join(ids).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    parent_ids = [new_doc_id() for _ in range(20_000)]
    child_ids = _read_all(read_fd).decode().split("\n")
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(child_ids) == 20_000
    assert all(check_doc_id(doc_id) for doc_id in child_ids)
    assert not set(parent_ids) & set(child_ids)
    assert len(set(parent_ids) | set(child_ids) | {before}) == 40_001
    assert min(child_ids) > before and min(parent_ids) > before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_the_lock_is_held_does_not_deadlock_the_child() -> None:
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with _docid._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: the holder thread does not exist here
            try:
                os.write(write_fd, new_doc_id().encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        ready, _, _ = select.select([read_fd], [], [], 10)
        assert ready, "the child deadlocked on the inherited lock"
        assert check_doc_id(_read_all(read_fd).decode())
        os.close(read_fd)
        os.waitpid(pid, 0)
    finally:
        release.set()
        holder.join()


@pytest.mark.parametrize(
    "value",
    [
        "01936F6E-8C2A-7B1E-9A3F-2D4C5B6A7980",
        "{01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980}",
        "01936f6e8c2a7b1e9a3f2d4c5b6a7980",
        "urn:uuid:01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980",
        "01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980\n",
        " 01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980",
        "01936f6e-8c2a-7b1e-9a3f-2d4c5b6a798",
        "g1936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980",
        "",
    ],
)
def test_check_doc_id_refuses(value: str) -> None:
    with pytest.raises(
        ConfigurationError, match="doc_id must be a UUID in canonical lowercase form"
    ):
        check_doc_id(value)


def test_check_doc_id_type() -> None:
    with pytest.raises(ConfigurationError, match="doc_id must be a str, got UUID"):
        check_doc_id(uuid.uuid4())  # type: ignore[arg-type]
    assert check_doc_id(str(uuid.uuid4()))  # any version is a valid docId
