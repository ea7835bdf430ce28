"""What the pytest fixtures build: capture clients, edge clients, a schema-serving edge.

Kept out of :mod:`pingsdk.testing.plugin` so that module stays cheap to import; these helpers
are plain functions usable without pytest too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pingsdk._client._sync import PingClient
from pingsdk._delivery._retry import RetryPolicy
from pingsdk._exceptions import ConfigurationError
from pingsdk._model._loader import load_pings
from pingsdk._model._ping import Ping
from pingsdk._model._registry import PingRegistry, default_registry
from pingsdk.edge import EdgeServer
from pingsdk.schema._export import export_repository
from pingsdk.testing._capture import CapturingTransport

__all__ = ["capture_client", "edge_client", "ping_classes", "start_edge"]

_FIXED = ("endpoint", "transport", "queue_path")


def _client_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = dict(options or {})
    fixed = sorted(set(extra) & set(_FIXED))
    if fixed:
        raise ConfigurationError(
            f"the pingsdk fixtures set {', '.join(fixed)} themselves; pass other PingClient "
            "keywords in @pytest.mark.pingsdk(client={...})"
        )
    extra.setdefault("retry", RetryPolicy.no_wait())
    return extra


def capture_client(
    transport: CapturingTransport, endpoint: str, options: Mapping[str, Any] | None = None
) -> PingClient:
    """A PingClient on an in-memory queue whose requests go to ``transport`` (no sockets).

    Retries do not wait (``RetryPolicy.no_wait()``) unless ``options`` sets ``retry``.
    """
    return PingClient(
        endpoint, queue_path=":memory:", transport=transport, **_client_options(options)
    )


def edge_client(
    url: str, queue_path: str | os.PathLike[str], options: Mapping[str, Any] | None = None
) -> PingClient:
    """A PingClient sending to a local edge at ``url``, retries not waiting."""
    return PingClient(url, queue_path=queue_path, **_client_options(options))


def ping_classes(targets: Iterable[object] | None) -> list[type[Ping]]:
    """The concrete Ping classes named by ``targets``.

    Each target is a Ping class, a :class:`PingRegistry`, or a module path / ``.py`` file
    (as ``pingsdk schema export`` takes). No targets: every class in ``default_registry``.

    Raises:
        ConfigurationError: a target is none of these, or imports no Ping class.
    """
    if not targets:
        return list(default_registry)
    found: dict[type[Ping], None] = {}
    for target in targets:
        if isinstance(target, type) and issubclass(target, Ping) and not target.is_abstract():
            found[target] = None
        elif isinstance(target, PingRegistry):
            found.update(dict.fromkeys(target))
        elif isinstance(target, (str, os.PathLike)):
            found.update(dict.fromkeys(load_pings(os.fspath(target))))
        else:
            raise ConfigurationError(
                f"pings: {target!r} is not a concrete Ping class, a PingRegistry, a module "
                "path or a .py file"
            )
    return list(found)


def start_edge(classes: Iterable[type[Ping]], schemas_dir: Path, *, strict: bool) -> EdgeServer:
    """Export ``classes`` under ``schemas_dir`` and start an edge serving them on loopback.

    With no classes the edge validates nothing (and accepts any name).
    """
    classes = list(classes)
    if classes:
        export_repository(classes, schemas_dir)
    return EdgeServer(schemas_dir if classes else None, strict=strict, port=0).start()
