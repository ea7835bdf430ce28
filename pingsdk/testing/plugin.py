"""pytest plugin entry point (``pytest11``): pingsdk fixtures. Imported by every pytest run
where pingsdk is installed, so it stays cheap: fixtures only, nothing autouse, no side effects.
(Python imports the ``pingsdk`` package to reach this module; the edge server and the fixtures'
helpers are imported only when a test asks for one of these fixtures.)

Fixtures:
    pingsdk_capture: a :class:`pingsdk.testing.CapturingTransport` (answers 200 by default).
    pingsdk_client: a :class:`pingsdk.PingClient` whose requests go to ``pingsdk_capture``.
    pingsdk_edge: a local strict :class:`pingsdk.edge.EdgeServer` on a free loopback port,
        serving schemas exported from your Ping classes.
    pingsdk_edge_client: a :class:`pingsdk.PingClient` sending to ``pingsdk_edge``.

Marker ``@pytest.mark.pingsdk(...)`` keywords: ``pings`` (Ping classes or module / file
targets for ``pingsdk_edge``), ``replies`` (queued replies for ``pingsdk_capture``; unused
ones fail the test at teardown unless ``unused_replies=True``), ``strict`` (edge mode,
default ``True``), ``client`` (extra ``PingClient`` keywords).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pingsdk import PingClient
    from pingsdk.edge import EdgeServer
    from pingsdk.testing import CapturingTransport

__all__: list[str] = []

_MARKER = "pingsdk"
_INI = "pingsdk_pings"
_CAPTURE_ENDPOINT = "https://incoming.pingsdk.test"
_TEARDOWN_TIMEOUT = 2.0


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--pingsdk-pings`` and the ``pingsdk_pings`` ini option."""
    group = parser.getgroup("pingsdk", "pingsdk telemetry pings")
    group.addoption(
        "--pingsdk-pings",
        action="append",
        default=[],
        metavar="TARGET",
        help="module or .py file declaring the Ping classes whose schemas pingsdk_edge serves "
        "(repeatable; default: the pingsdk_pings ini option, else every registered Ping class)",
    )
    parser.addini(
        _INI,
        type="linelist",
        default=[],
        help="modules or .py files declaring the Ping classes whose schemas pingsdk_edge serves",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``pingsdk`` marker."""
    config.addinivalue_line(
        "markers",
        "pingsdk(pings=None, replies=None, unused_replies=False, strict=True, client=None): "
        "configure the pingsdk fixtures: Ping classes or targets for pingsdk_edge's schemas, "
        "replies queued on pingsdk_capture (and whether some may stay unused), the edge's "
        "strict mode, extra PingClient keywords",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keywords of the closest ``pingsdk`` marker (empty when none)."""
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError("@pytest.mark.pingsdk takes keywords only, e.g. pings=[MyPing]")
    unknown = set(marker.kwargs) - {"pings", "replies", "unused_replies", "strict", "client"}
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.pingsdk: unknown keyword(s) {sorted(unknown)}; "
            "use pings, replies, unused_replies, strict or client"
        )
    return dict(marker.kwargs)


@pytest.fixture
def pingsdk_capture(request: pytest.FixtureRequest) -> Iterator[CapturingTransport]:
    """A transport that records every request and answers 200 (see ``replies=`` marker).

    At teardown the test fails if replies were queued that no request used (the client sent
    fewer requests than the test expected), unless the marker says ``unused_replies=True``.
    """
    from pingsdk.testing import CapturingTransport

    options = _options(request)
    transport = CapturingTransport(options.get("replies", ()))
    yield transport
    unused = transport.unused_replies
    if unused and not options.get("unused_replies", False):
        pytest.fail(
            f"pingsdk_capture: {len(unused)} queued reply(ies) never used: {unused!r} "
            "(fewer requests than expected; mark the test "
            "@pytest.mark.pingsdk(unused_replies=True) if that is intended)",
            pytrace=False,
        )


@pytest.fixture
def pingsdk_client(
    request: pytest.FixtureRequest, pingsdk_capture: CapturingTransport
) -> Iterator[PingClient]:
    """A PingClient on an in-memory queue, sending through ``pingsdk_capture`` (no sockets).

    Retries do not wait. Call ``flush()`` and read ``pingsdk_capture.pings``.
    """
    from pingsdk.testing._fixtures import capture_client

    client = capture_client(pingsdk_capture, _CAPTURE_ENDPOINT, _options(request).get("client"))
    try:
        yield client
    finally:
        client.close(timeout=_TEARDOWN_TIMEOUT)


@pytest.fixture
def pingsdk_edge(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeServer]:
    """A strict local edge on a free 127.0.0.1 port, serving your pings' exported schemas.

    Which Ping classes: the marker's ``pings=``, else ``--pingsdk-pings`` / the
    ``pingsdk_pings`` ini option, else every class in ``pingsdk.default_registry``.
    """
    from pingsdk.testing._fixtures import ping_classes, start_edge

    options = _options(request)
    targets = options.get("pings")
    if targets is None:
        targets = request.config.getoption("--pingsdk-pings") or request.config.getini(_INI)
    classes = ping_classes(targets)
    schemas = tmp_path_factory.mktemp("pingsdk-schemas")
    edge = start_edge(classes, schemas, strict=bool(options.get("strict", True)))
    try:
        yield edge
    finally:
        edge.stop()


@pytest.fixture
def pingsdk_edge_client(
    request: pytest.FixtureRequest,
    pingsdk_edge: EdgeServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PingClient]:
    """A PingClient sending to ``pingsdk_edge`` over loopback, retries not waiting."""
    from pingsdk.testing._fixtures import edge_client

    queue = tmp_path_factory.mktemp("pingsdk-queue") / "pings.db"
    client = edge_client(pingsdk_edge.url, queue, _options(request).get("client"))
    try:
        yield client
    finally:
        client.close(timeout=_TEARDOWN_TIMEOUT)
