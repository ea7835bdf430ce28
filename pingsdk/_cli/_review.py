"""``pingsdk review``: the data review request of each ping, and a CI check of its facts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pingsdk._cli import Commands
from pingsdk._model._loader import load_pings
from pingsdk.schema import missing_review_facts, review_request

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add the ``review`` subcommand."""
    review = commands.top.add_parser(
        "review",
        help="write the data review request of each ping",
        description=(
            "Write a Markdown data review request for each Ping class in TARGET (a module or "
            ".py file) from its declared DataReview facts. With --check, list the mandatory "
            "facts still missing and exit 1 if there are any."
        ),
    )
    review.add_argument("target", metavar="TARGET")
    review.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="write to FILE (default: stdout)"
    )
    review.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a mandatory answer is missing (the request is written only with --out)",
    )
    review.set_defaults(func=_review)


def _review(args: argparse.Namespace) -> int:
    from pingsdk.schema import export_schema

    pings = load_pings(args.target)
    documents = []
    incomplete = 0
    for cls in pings:
        schema = export_schema(cls)
        documents.append(review_request(cls, schema=schema))
        if args.check:
            info = cls.ping_info()
            label = f"{info.namespace}/{info.doctype} version {info.version}"
            missing = missing_review_facts(cls, schema=schema)
            for fact in missing:
                print(f"{label}: missing {fact}", file=sys.stderr)
            if missing:
                incomplete += 1
            else:
                print(f"{label}: complete")
    text = "\n---\n\n".join(documents)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(args.out)
    elif not args.check:
        sys.stdout.write(text)
    if incomplete:
        print(
            f"pingsdk: {incomplete} of {len(pings)} ping(s) lack mandatory data review facts",
            file=sys.stderr,
        )
        return 1
    return 0
