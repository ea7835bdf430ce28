"""The registry of Ping classes: one class per ``(namespace, doctype, version)``."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pingsdk._exceptions import PingDefinitionError
from pingsdk._naming import lookup_name

if TYPE_CHECKING:
    from pingsdk._model._ping import Ping

__all__ = ["PingRegistry", "default_registry"]


class PingRegistry:
    """A set of Ping classes, unique by ``(namespace, doctype, version)``.

    Every Ping class registers in :data:`default_registry` unless declared with ``registry=``.
    Redefining a class with the same source file (or module) and qualified name (a reload)
    replaces it.

    Added in 0.1.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classes: dict[tuple[str, str, int], type[Ping]] = {}

    def register(self, cls: type[Ping]) -> None:
        """Add ``cls``; raise :class:`PingDefinitionError` if its identity is taken."""
        info = cls.ping_info()
        with self._lock:
            other = self._classes.get(info.key)
            if other is not None and _origin(other) != _origin(cls):
                raise PingDefinitionError(
                    f"{cls.__qualname__}: namespace={info.namespace!r} doctype={info.doctype!r} "
                    f"version={info.version} is already declared by "
                    f"{other.__module__}.{other.__qualname__}; bump the version or use another "
                    "doctype"
                )
            self._classes[info.key] = cls

    def get(self, namespace: str, doctype: str, version: int) -> type[Ping] | None:
        """The class declared for this identity (``-`` and ``_`` compare equal), or ``None``."""
        with self._lock:
            for (ns, dt, v), cls in self._classes.items():
                if (lookup_name(ns), lookup_name(dt), v) == (
                    lookup_name(namespace),
                    lookup_name(doctype),
                    version,
                ):
                    return cls
        return None

    def __iter__(self) -> Iterator[type[Ping]]:
        with self._lock:
            return iter(sorted(self._classes.values(), key=lambda c: c.ping_info().key))

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, cls: object) -> bool:
        return cls in self._classes.values()


def _origin(cls: type) -> tuple[str, str]:
    """Where a class is declared: its source file (or module name) and qualified name.

    The same file imported under two module names (``examples.pings`` and a CLI target path)
    declares the same pings, so it counts as a reload, not as a second declaration.
    """
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    where = str(Path(file).resolve()) if isinstance(file, str) else cls.__module__
    return (where, cls.__qualname__)


default_registry = PingRegistry()
"""The registry Ping classes join unless they pass ``registry=``."""
