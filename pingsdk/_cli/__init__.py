"""The ``pingsdk`` command line: argparse, ``main(argv) -> int``.

Each subcommand lives in its own module with ``register(commands)``; this module only builds
the parser, dispatches, and turns user errors into one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence

from pingsdk._exceptions import PingSDKError
from pingsdk._version import __version__

__all__ = ["Commands", "main"]

Handler = Callable[[argparse.Namespace], int]


@dataclasses.dataclass
class Commands:
    """Where subcommand modules add their parsers.

    Attributes:
        top: ``pingsdk <command>`` sub-parsers.
        schema: ``pingsdk schema <command>`` sub-parsers.
    """

    top: argparse._SubParsersAction[argparse.ArgumentParser]
    schema: argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """The full ``pingsdk`` parser."""
    parser = argparse.ArgumentParser(
        prog="pingsdk",
        description="Model, export, send and test telemetry pings.",
    )
    parser.add_argument("--version", action="version", version=f"pingsdk {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    schema_parser = top.add_parser("schema", help="export and inspect schemas")
    schema = schema_parser.add_subparsers(dest="schema_command", metavar="COMMAND")
    schema_parser.set_defaults(func=_usage(schema_parser))
    _register_all(Commands(top=top, schema=schema))
    _verbose_everywhere(parser)
    return parser


def _register_all(commands: Commands) -> None:
    """Every subcommand module adds its commands, in the order they appear in ``--help``."""
    # Imported here, not at the top: each of them imports Commands from this module. A module
    # that is missing or broken fails the whole CLI at once, never a command gone quietly.
    from pingsdk._cli import (
        _bigquery,
        _export,
        _glean,
        _monitor,
        _review,
        _schema_tools,
        _send,
        _serve,
        _validate,
    )

    # One call each, not a loop over the modules: mypy checks every register() signature.
    _export.register(commands)
    _bigquery.register(commands)
    _schema_tools.register(commands)
    _review.register(commands)
    _validate.register(commands)
    _send.register(commands)
    _serve.register(commands)
    _glean.register(commands)
    _monitor.register(commands)


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``-v`` after any subcommand too (``pingsdk serve -v``), counted with the global
    one; a subcommand that defines ``-v`` itself keeps its own."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in set(action.choices.values()):
            if "-v" not in sub._option_string_actions:
                sub.add_argument(
                    "-v",
                    "--verbose",
                    dest="sub_verbose",
                    action="count",
                    default=0,
                    help="log more (-vv: debug); same as before the command",
                )
            _verbose_everywhere(sub)


def _usage(parser: argparse.ArgumentParser) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a check failed, 2 a usage or user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = args.verbose + getattr(args, "sub_verbose", 0)
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return func(args)
    except PingSDKError as exc:
        print(f"pingsdk: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"pingsdk: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
