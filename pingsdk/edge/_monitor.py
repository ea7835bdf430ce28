"""The docType monitor: per (namespace, doctype, version) counts, top errors, sizes, skew."""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["TOP_ERRORS", "build_report", "format_report", "stats"]

TOP_ERRORS = 5


def stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50, p95 and max of ``values`` (nearest-rank percentiles)."""
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    mean = sum(ordered) / len(ordered)
    return {
        "count": len(ordered),
        "mean": round(mean, 3),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "max": ordered[-1],
    }


class _Group:
    def __init__(self) -> None:
        self.received = 0
        self.valid = 0
        self.invalid = 0
        self.decode_errors = 0
        self.duplicates = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: collections.Counter[tuple[str, str]] = collections.Counter()
        self.decode_messages: collections.Counter[str] = collections.Counter()
        self.wire: list[float] = []
        self.decoded: list[float] = []
        self.skew: list[float] = []


def build_report(rows: Iterable[Sequence[Any]], faults: Mapping[str, int]) -> dict[str, Any]:
    """The ``/__monitor__`` document from stored rows (see ``Store.summary_rows``)."""
    groups: dict[tuple[str, str, int | None], _Group] = {}
    other: collections.Counter[int] = collections.Counter()
    statuses: collections.Counter[int] = collections.Counter()
    total = accepted = 0
    for row in rows:
        (ns, doctype, version, status, valid, errors, decode_error, duplicate) = row[:8]
        wire, decoded, skew = row[8:11]
        total += 1
        statuses[status] += 1
        accepted += 200 <= status < 300
        if ns is None or doctype is None:
            other[status] += 1
            continue
        group = groups.setdefault((ns, doctype, version), _Group())
        group.received += 1
        group.statuses[status] += 1
        group.valid += valid == 1
        group.invalid += valid == 0
        group.duplicates += bool(duplicate)
        if decode_error is not None:
            group.decode_errors += 1
            group.decode_messages[decode_error] += 1
        for issue in json.loads(errors):
            group.errors[(issue["path"], issue["message"])] += 1
        group.wire.append(wire)
        if decoded is not None:
            group.decoded.append(decoded)
        if skew is not None:
            group.skew.append(skew)
    doctypes = []
    for (ns, doctype, version), g in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
    ):
        doctypes.append(
            {
                "namespace": ns,
                "doctype": doctype,
                "version": version,
                "received": g.received,
                "valid": g.valid,
                "invalid": g.invalid,
                "decode_errors": g.decode_errors,
                "duplicates": g.duplicates,
                "statuses": {str(k): v for k, v in sorted(g.statuses.items())},
                "top_errors": [
                    {"path": path, "message": message, "count": n}
                    for (path, message), n in g.errors.most_common(TOP_ERRORS)
                ],
                "top_decode_errors": [
                    {"message": message, "count": n}
                    for message, n in g.decode_messages.most_common(TOP_ERRORS)
                ],
                "wire_size": stats(g.wire),
                "decoded_size": stats(g.decoded),
                "clock_skew": stats(g.skew),
            }
        )
    return {
        "received": total,
        "accepted": accepted,
        "rejected": total - accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unrouted": {str(k): v for k, v in sorted(other.items())},
        "faults": {"total": sum(faults.values()), "by_kind": dict(sorted(faults.items()))},
        "doctypes": doctypes,
    }


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def format_report(report: Mapping[str, Any]) -> str:
    """The monitor document as a readable text table."""
    header = (
        "namespace",
        "doctype",
        "v",
        "received",
        "valid",
        "invalid",
        "decode_err",
        "dups",
        "wire mean/p50/p95/max",
        "decoded mean/p50/p95/max",
        "skew p50/max s",
    )
    table: list[tuple[str, ...]] = [header]
    for d in report["doctypes"]:
        wire, dec, skew = d["wire_size"], d["decoded_size"], d["clock_skew"]
        table.append(
            (
                d["namespace"],
                d["doctype"],
                _num(d["version"]),
                str(d["received"]),
                str(d["valid"]),
                str(d["invalid"]),
                str(d["decode_errors"]),
                str(d["duplicates"]),
                "/".join(_num(wire[k]) for k in ("mean", "p50", "p95", "max")),
                "/".join(_num(dec[k]) for k in ("mean", "p50", "p95", "max")),
                "/".join(_num(skew[k]) for k in ("p50", "max")),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    faults = report["faults"]
    lines.append("")
    lines.append(
        f"received {report['received']}  accepted {report['accepted']}"
        f"  rejected {report['rejected']}  faults injected {faults['total']}"
    )
    if report["statuses"]:
        lines.append("statuses: " + ", ".join(f"{k}: {v}" for k, v in report["statuses"].items()))
    if report["unrouted"]:
        lines.append(
            "not a submit path: " + ", ".join(f"{k}: {v}" for k, v in report["unrouted"].items())
        )
    if faults["by_kind"]:
        lines.append("faults: " + ", ".join(f"{k}: {v}" for k, v in faults["by_kind"].items()))
    for d in report["doctypes"]:
        name = f"{d['namespace']}/{d['doctype']}/{_num(d['version'])}"
        for err in d["top_errors"]:
            lines.append(f"  {name} x{err['count']}: {err['path']}: {err['message']}")
        for err in d["top_decode_errors"]:
            lines.append(f"  {name} x{err['count']}: {err['message']}")
    return "\n".join(lines) + "\n"
