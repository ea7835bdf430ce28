"""Fault injection: a random plan (rate, kinds, latency) and a script of forced answers."""

from __future__ import annotations

import collections
import dataclasses
import random
import threading
from collections.abc import Iterable

from pingsdk._exceptions import ConfigurationError

__all__ = ["Fault", "FaultInjector", "FaultPlan", "ScriptEntry", "parse_kind"]

_NAMED = ("reset", "timeout")
_PASS = ("200", "ok", "pass")

ScriptEntry = str | tuple[str, int]


def parse_kind(kind: str) -> str:
    """A fault kind as stored: ``"reset"``, ``"timeout"`` or a status ``"400"``..``"599"``.

    Raises:
        ConfigurationError: anything else.
    """
    text = str(kind).strip().lower()
    if text in _NAMED or (text.isascii() and text.isdigit() and 400 <= int(text) <= 599):
        return text
    raise ConfigurationError(
        f"unknown fault kind {kind!r}: use reset, timeout or a 4xx/5xx status such as 503 or 429"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class FaultPlan:
    """How often and how the edge misbehaves, for testing clients.

    Attributes:
        rate: share of submit requests answered with a fault (0.0 to 1.0).
        kinds: faults drawn from uniformly: ``"500"``, ``"503"``, ``"507"``, ``"429"`` (with
            ``Retry-After``), any other 4xx/5xx status, ``"reset"`` (the TCP connection is
            aborted without an answer) or ``"timeout"`` (the request is held unanswered).
        latency: seconds added before answering every submit request.
        retry_after: the ``Retry-After`` seconds sent with 429 (and 503).
        seed: seed of the random draw, for repeatable runs.
        hold: at most how long a ``"timeout"`` fault holds a request (seconds).

    Raises:
        ConfigurationError: a rate outside 0..1, an unknown kind, negative latency.

    Example:
        >>> FaultPlan(rate=0.3, kinds=("503", "reset"), seed=1).rate
        0.3
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("500", "503", "429", "reset", "timeout")
    latency: float = 0.0
    retry_after: int = 1
    seed: int | None = None
    hold: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ConfigurationError(f"fault rate must be between 0 and 1, got {self.rate}")
        if self.latency < 0 or self.hold < 0 or self.retry_after < 0:
            raise ConfigurationError("fault latency, hold and retry_after must not be negative")
        kinds = tuple(parse_kind(k) for k in self.kinds)
        if self.rate > 0 and not kinds:
            raise ConfigurationError("a fault rate needs at least one fault kind")
        object.__setattr__(self, "kinds", kinds)


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    """One fault to act out: ``kind`` as in :class:`FaultPlan`, with its Retry-After."""

    kind: str
    retry_after: int


class FaultInjector:
    """Thread-safe source of faults: scripted answers first, then the plan's random draw."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._script: collections.deque[Fault | None] = collections.deque()
        self.plan = plan or FaultPlan()
        self._random = random.Random(self.plan.seed)

    def set_plan(self, plan: FaultPlan | None) -> None:
        """Replace the plan (and reseed its random draw)."""
        with self._lock:
            self.plan = plan or FaultPlan()
            self._random = random.Random(self.plan.seed)

    def script(self, entries: Iterable[ScriptEntry]) -> None:
        """Queue forced answers; ``"200"`` means "answer normally", ``("429", 5)`` sets
        Retry-After."""
        parsed: list[Fault | None] = []
        for entry in entries:
            kind, after = entry if isinstance(entry, tuple) else (entry, None)
            if str(kind).strip().lower() in _PASS:
                parsed.append(None)
                continue
            retry_after = self.plan.retry_after if after is None else int(after)
            parsed.append(Fault(parse_kind(kind), retry_after))
        with self._lock:
            self._script.extend(parsed)

    def clear(self) -> None:
        """Forget scripted answers not used yet."""
        with self._lock:
            self._script.clear()

    def next(self) -> tuple[Fault | None, float]:
        """The fault for the next submit request (or ``None``) and the latency to add."""
        with self._lock:
            plan = self.plan
            if self._script:
                return self._script.popleft(), plan.latency
            if plan.rate > 0 and self._random.random() < plan.rate:
                kind = self._random.choice(plan.kinds)
                return Fault(kind, plan.retry_after), plan.latency
            return None, plan.latency
