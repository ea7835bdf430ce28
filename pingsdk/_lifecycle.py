"""Every fork and exit hook of pingsdk, in one place.

A process that forks (gunicorn's pre-fork workers, ``multiprocessing``'s fork start method)
gives the child copies of locks some other thread may have held, and of the parent's SQLite
handles and connections: the modules that own such state register a hook here. At exit, the
clients flush within their ``atexit_timeout``.

The hooks run as ``os.register_at_fork`` and ``atexit`` would run them: ``before`` hooks in the
reverse order of registration, ``after_in_parent``/``after_in_child`` hooks in the order of
registration (so the queue, imported first, is whole again before a client touches it), exit
hooks in reverse order. One failing hook is logged and the others still run.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable

from pingsdk._log import logger

__all__ = ["on_exit", "on_fork"]

Hook = Callable[[], None]

_before: list[Hook] = []
_after_in_parent: list[Hook] = []
_after_in_child: list[Hook] = []
_at_exit: list[Hook] = []


def on_fork(
    *,
    before: Hook | None = None,
    after_in_parent: Hook | None = None,
    after_in_child: Hook | None = None,
) -> None:
    """Run these around every ``fork()`` of this process (nothing on platforms without fork)."""
    if before is not None:
        _before.append(before)
    if after_in_parent is not None:
        _after_in_parent.append(after_in_parent)
    if after_in_child is not None:
        _after_in_child.append(after_in_child)


def on_exit(hook: Hook) -> None:
    """Run ``hook`` when the interpreter exits normally."""
    _at_exit.append(hook)


def _run(hooks: list[Hook], when: str) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            logger.exception("pingsdk %s hook %s failed", when, getattr(hook, "__qualname__", hook))


def _before_fork() -> None:
    _run(_before[::-1], "before-fork")


def _after_fork_in_parent() -> None:
    _run(list(_after_in_parent), "after-fork")


def _after_fork_in_child() -> None:
    _run(list(_after_in_child), "after-fork (child)")


def _exit() -> None:
    _run(_at_exit[::-1], "exit")


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
atexit.register(_exit)
