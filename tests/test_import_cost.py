"""`import pingsdk` loads what modelling and sending need, and the rest when first used (#12).

Checked by the modules a fresh interpreter has loaded, never by timing.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pingsdk

# Modules that only the schema tooling, monitoring, validation, the CLI, the edge or the test kit
# use: importing any of them costs more than what sending a ping needs.
NOT_ON_IMPORT = (
    "jsonschema",
    "referencing",
    "interegular",
    "pingsdk._cli",
    "pingsdk.edge",
    "pingsdk.glean",
    "pingsdk.testing",
    "pingsdk.schema._bigquery",
    "pingsdk.schema._evolution",
    "pingsdk.schema._patterns",
    "pingsdk.schema._reading",
    "pingsdk.schema._export",
    "pingsdk.monitoring",
    "pingsdk.schema._parquet",
    "pingsdk.schema._review_text",
    "pingsdk.schema._validation",
)


def loaded_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in NOT_ON_IMPORT or m in NOT_ON_IMPORT)


def test_import_loads_no_tooling() -> None:
    modules = loaded_after("import pingsdk")
    assert "pingsdk._client._sync" in modules  # the probe sees pingsdk's own imports
    assert heavy(modules) == []


# What the sending side loads: a client's constructor imports it (on the calling thread, for fork
# safety), a docId or a retry delay imports its own part; `import pingsdk` loads none of it.
SENDING_STACK = ("asyncio", "sqlite3", "tenacity", "uuid6", "h11", "gzip")


def test_import_loads_no_sending_stack() -> None:
    modules = loaded_after("import pingsdk")
    assert {"pingsdk._client._sync", "pingsdk._delivery._retry"} <= modules  # the probe sees them
    assert sorted(set(SENDING_STACK) & modules) == []
    assert "pingsdk._queue" not in modules


def test_constructing_a_client_loads_what_sending_needs() -> None:
    modules = loaded_after(
        """
        import pingsdk

        client = pingsdk.PingClient("http://127.0.0.1:9", queue_path=":memory:")
        client.close(0)
        """
    )
    assert set(SENDING_STACK) <= modules
    assert {"pingsdk._delivery._runner", "pingsdk._delivery._h11_transport"} <= modules


def test_a_doc_id_and_a_retry_delay_import_their_parts() -> None:
    modules = loaded_after(
        """
        import pingsdk
        from pingsdk.wire._docid import new_doc_id

        assert len(new_doc_id()) == 36
        assert pingsdk.RetryPolicy(jitter=False).delay(2) == 120.0
        assert pingsdk.default_queue_path().name == "pings.db"
        """
    )
    assert {"uuid6", "tenacity"} <= modules
    assert "sqlite3" not in modules


def test_defining_and_encoding_a_ping_loads_no_tooling() -> None:
    # A class is checked for exportability when it is defined, and to_json_bytes() proves the
    # payload with pydantic alone for plain fields: neither needs jsonschema.
    modules = loaded_after(
        """
        from pydantic import Field
        import pingsdk

        class Visit(pingsdk.Ping, namespace="my-app", doctype="visit", version=1):
            '''Visits, to learn which pages people use.'''

            page: str = Field(description="Page id.")
            count: int = Field(ge=0, description="Visits.")

        assert Visit(page="home", count=2).to_json_bytes() == b'{"page":"home","count":2}'
        """
    )
    assert heavy(modules) == []


def test_validation_imports_jsonschema_when_used() -> None:
    modules = loaded_after(
        """
        import pingsdk

        issues = pingsdk.schema.validate_payload({"type": "object", "required": ["a"]}, {})
        assert [i.keyword for i in issues] == ["required"], issues
        """
    )
    assert {"jsonschema", "pingsdk.schema._validation"} <= modules


def test_monitor_keyword_still_checked() -> None:
    # _monitoring is imported only for a ping that declares a monitor; a wrong one is still
    # refused when the class is defined.
    with pytest.raises(pingsdk.PingDefinitionError, match=r"monitor must be a pingsdk\."):

        class Watched(
            pingsdk.Ping,
            namespace="my-app",
            doctype="watched",
            version=1,
            monitor="release",
            registry=pingsdk.PingRegistry(),
        ):
            """Watched, to test the monitor keyword."""


@pytest.mark.parametrize("name", sorted(pingsdk.schema._LAZY))
def test_lazy_name_is_the_private_object(name: str) -> None:
    obj = getattr(pingsdk.schema, name)
    module = importlib.import_module(f"pingsdk.schema.{pingsdk.schema._LAZY[name]}")
    assert obj is getattr(module, name)
    assert name in pingsdk.schema.__all__
    assert name in dir(pingsdk.schema)
    if isinstance(obj, type):
        assert obj.__module__ == "pingsdk.schema"


@pytest.mark.parametrize("package", ["pingsdk", "pingsdk.schema", "pingsdk.monitoring"])
def test_star_import_gives_every_public_name(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert set(importlib.import_module(package).__all__) <= set(namespace)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"module 'pingsdk' has no attribute 'Pnig'$"):
        _ = pingsdk.Pnig  # type: ignore[attr-defined]
    assert not hasattr(pingsdk, "_bigquery_schema")
    with pytest.raises(AttributeError, match=r"module 'pingsdk.schema' has no attribute 'x'$"):
        _ = pingsdk.schema.x  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(pingsdk._MOVED))
def test_a_moved_name_says_where_it_went(name: str) -> None:
    home = pingsdk._MOVED[name]
    with pytest.raises(AttributeError, match=rf"pingsdk\.{name} moved to {home}\.{name}"):
        getattr(pingsdk, name)
    assert getattr(importlib.import_module(home), name) is not None


def test_subpackages_load_on_first_use() -> None:
    modules = loaded_after("import pingsdk\nassert pingsdk.wire.submit_path is not None")
    assert "pingsdk.wire" in modules
    assert heavy(modules) == []


def test_type_checking_imports_match_lazy_names() -> None:
    # Type checkers and IDEs see the lazy names only through the `if TYPE_CHECKING:` imports:
    # every lazy name must be imported there, from the module __getattr__ loads it from.
    tree = ast.parse(Path(pingsdk.schema.__file__).read_text(encoding="utf-8"))
    typed: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    module = stmt.module.removeprefix("pingsdk.schema.")
                    typed.update({alias.name: module for alias in stmt.names})
    assert typed == pingsdk.schema._LAZY


def test_sending_over_http_loads_no_httpx_transport_and_no_ca_bundle() -> None:
    """The lean transport sends every ping: httpx's transport stack (httpcore, anyio, certifi:
    about 4 MiB) and the TLS context (the CA bundle, about 1.6 MiB) are for https and proxies."""
    modules = loaded_after(
        """
        import http.server, threading
        import pingsdk
        from pydantic import Field

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        class P(pingsdk.Ping, namespace="m", doctype="d", version=1):
            \"\"\"A ping.\"\"\"
            n: int = Field(description="n")

        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pingsdk.PingClient(url, queue_path=":memory:") as client:
            client.submit(P(n=1))
            assert client.flush(10)
        from pingsdk._delivery import _http
        assert _http._TLS_CONTEXTS == {}
        server.shutdown()
        """
    )
    assert "pingsdk._delivery._h11_transport" in modules  # the probe really sent
    assert not {"httpcore", "anyio", "certifi"} & modules


def test_clients_without_a_sender_process_never_load_its_modules() -> None:
    """uploader="process" is opt-in: the default clients' submits, flushes and closes do not
    import the sender's modules (the async client's submit imported them on every call)."""
    modules = loaded_after(
        """
        import asyncio, tempfile
        from pathlib import Path
        import pingsdk
        from tests.delivery.pings import SearchCounts

        folder = Path(tempfile.mkdtemp())
        with pingsdk.PingClient("http://127.0.0.1:9", queue_path=folder / "a.db") as client:
            client.submit(SearchCounts(engine="sync", count=1))

        async def main() -> None:
            async with pingsdk.AsyncPingClient(
                "http://127.0.0.1:9", queue_path=folder / "b.db"
            ) as client:
                await client.submit(SearchCounts(engine="async", count=1))
                await client.flush(timeout=0.1)

        asyncio.run(main())
        """
    )
    assert "pingsdk._client._async" in modules  # the probe ran the async client
    assert {m for m in modules if m.startswith("pingsdk._delivery._sender")} == set()
    assert "pingsdk._delivery._process_runner" not in modules
