"""The CLI registers every subcommand module by name: a missing one fails loudly, never quietly."""

from __future__ import annotations

import argparse
import sys

import pytest

from pingsdk._cli import build_parser, main

TOP = ["schema", "review", "validate", "send", "queue", "relay", "serve", "monitor", "glean"]
SCHEMA = ["export", "bigquery", "parquet", "check", "diff", "monitor"]


def _choices(parser: argparse.ArgumentParser) -> list[str]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_every_command_is_registered_in_help_order() -> None:
    parser = build_parser()
    assert _choices(parser) == TOP
    (schema,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert _choices(schema.choices["schema"]) == SCHEMA


@pytest.mark.parametrize("module", ["_glean", "_monitor", "_send"])
def test_a_missing_subcommand_module_fails_the_cli_at_once(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import fail as if the file were gone.
    monkeypatch.setitem(sys.modules, f"pingsdk._cli.{module}", None)
    monkeypatch.delattr(f"pingsdk._cli.{module}", raising=False)
    with pytest.raises(ImportError, match=rf"pingsdk\._cli\.{module}"):
        main(["--help"])
