"""Document ids: time-ordered UUIDs (version 7), unique across threads and forked processes.

The docId is the pipeline's deduplication key, assigned once at ``submit()`` and re-sent unchanged
on every retry. ``uuid6.uuid7()`` keeps its "last timestamp" in a module global without a lock,
so two threads can read the same value. Here every id is issued under a lock and its 48-bit
millisecond timestamp is forced strictly above the previous one this process issued: two ids of
one process can never be equal, whatever the clock or other callers of ``uuid6`` do. Above 1,000
ids per second the timestamps run ahead of the clock (as ``uuid6`` itself does); that costs
nothing, since only uniqueness and rough ordering matter.

Across processes, the 74 random bits (from ``os.urandom``, which has no state a fork could copy)
keep ids apart; after ``fork()`` the child gets a fresh lock, so a fork taken while another thread
held it cannot deadlock the child.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pingsdk import _lifecycle as lifecycle
from pingsdk._exceptions import ConfigurationError
from pingsdk._naming import is_doc_id

if TYPE_CHECKING:
    import uuid

__all__ = ["check_doc_id", "load_uuid7", "new_doc_id"]

_TS_SHIFT = 80
_TS_MASK = (1 << 48) - 1
_LOW_MASK = (1 << _TS_SHIFT) - 1

_lock = threading.Lock()
_last_ts = -1  # the 48-bit timestamp of the last id this process issued
# uuid6.uuid7, imported by the first new_doc_id() so that `import pingsdk` does not load it.
_uuid7: Callable[[], uuid.UUID] | None = None


def load_uuid7() -> Callable[[], uuid.UUID]:
    """Import ``uuid6.uuid7`` (once; a client's constructor calls this on its own thread)."""
    global _uuid7  # noqa: PLW0603 -- set once, then read without importing
    import uuid6

    _uuid7 = uuid6.uuid7
    return _uuid7


def new_doc_id() -> str:
    """A fresh document id: a version 7 UUID in canonical lowercase.

    Thread-safe; two calls in one process never return the same id, and ids issued later sort
    after earlier ones.

    Returns:
        e.g. ``"01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980"``.

    >>> doc_id = new_doc_id()
    >>> check_doc_id(doc_id) == doc_id and doc_id[14] == "7"
    True
    """
    global _last_ts  # noqa: PLW0603 -- per-process state, guarded by _lock
    uuid7 = _uuid7 or load_uuid7()
    with _lock:
        value = uuid7().int
        ts = value >> _TS_SHIFT
        if ts <= _last_ts:
            # Another uuid6 caller (outside this lock) moved uuid6's global backwards, or the clock
            # stepped back: keep the random bits, move the timestamp past ours.
            ts = (_last_ts + 1) & _TS_MASK
            value = (ts << _TS_SHIFT) | (value & _LOW_MASK)
        _last_ts = ts
    # Formatting the int directly is ~3x faster than str(uuid.UUID(int=value)); same text.
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def check_doc_id(value: str) -> str:
    """Check that ``value`` is a UUID in canonical lowercase form; return it unchanged.

    Raises:
        ConfigurationError: not a str, upper case, braces, missing dashes, wrong length...

    >>> check_doc_id("01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980")
    '01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980'
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"doc_id must be a str, got {type(value).__name__}")
    if not is_doc_id(value):
        raise ConfigurationError(
            "doc_id must be a UUID in canonical lowercase form "
            "(8-4-4-4-12 hex digits, e.g. '01936f6e-8c2a-7b1e-9a3f-2d4c5b6a7980'); "
            f"got {value[:60]!r}"
        )
    return value


def _after_fork_in_child() -> None:
    # The parent's lock may have been held by a thread that does not exist in the child.
    global _lock  # noqa: PLW0603
    _lock = threading.Lock()


lifecycle.on_fork(after_in_child=_after_fork_in_child)
