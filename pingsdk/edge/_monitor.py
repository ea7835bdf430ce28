"""The docType monitor: per (namespace, doctype, version) counts, top errors, sizes, skew."""

from __future__ import annotations

import bisect
import collections
import copy
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ROW_COLUMNS",
    "TOP_ERRORS",
    "TOP_REASONS",
    "UNKNOWN",
    "Aggregates",
    "build_report",
    "format_report",
    "stats",
]

TOP_ERRORS = 5
TOP_REASONS = 10
# The verdict of a ping whose namespace, doctype or version has no schema.
UNKNOWN = "unknown doctype"
# What the monitor needs of each record, in this order.
ROW_COLUMNS = (
    "namespace",
    "doctype",
    "version",
    "status",
    "valid",
    "errors",
    "decode_error",
    "duplicate",
    "wire_size",
    "decoded_size",
    "clock_skew",
    "verdict",
    "reason",
)


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


class _Dist:
    """An exact running distribution: each distinct value with its count, keys kept sorted.

    Adding is O(log d) plus an insertion for a new value; a report walks the d distinct
    values once, never the records, so it stays cheap however many pings arrived.
    """

    __slots__ = ("counts", "keys", "n", "total")

    def __init__(self) -> None:
        self.counts: dict[float, int] = {}
        self.keys: list[float] = []
        self.n = 0
        self.total: float = 0

    def add(self, value: float) -> None:
        if value in self.counts:
            self.counts[value] += 1
        else:
            self.counts[value] = 1
            bisect.insort(self.keys, value)
        self.n += 1
        self.total += value

    def stats(self) -> dict[str, float | int | None]:
        """What :func:`stats` gives for the same values."""
        if not self.n:
            return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None}
        wanted = [max(0, math.ceil(p * self.n) - 1) for p in (0.50, 0.95)]
        found: list[float] = []
        seen = 0
        for key in self.keys:
            seen += self.counts[key]
            while len(found) < len(wanted) and wanted[len(found)] < seen:
                found.append(key)
            if len(found) == len(wanted):
                break
        return {
            "count": self.n,
            "mean": round(self.total / self.n, 3),
            "p50": found[0],
            "p95": found[1],
            "max": self.keys[-1],
        }


class _Group:
    def __init__(self) -> None:
        self.received = 0
        self.valid = 0
        self.invalid = 0
        self.decode_errors = 0
        self.duplicates = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.verdicts: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[tuple[str, str]] = collections.Counter()
        self.decode_messages: collections.Counter[str] = collections.Counter()
        self.wire = _Dist()
        self.decoded = _Dist()
        self.skew = _Dist()
        self.cached: dict[str, Any] | None = None


class Aggregates:
    """The monitor's numbers, kept up to date one record at a time.

    The edge adds every record as it stores it, so ``/__monitor__`` costs the same after
    fifty pings or fifty thousand, and stays exact when old records are dropped from the
    store. Not thread-safe: the store calls it under its own lock.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, int | None], _Group] = {}
        self._other: collections.Counter[int] = collections.Counter()
        self._statuses: collections.Counter[int] = collections.Counter()
        self._reasons: collections.Counter[tuple[int, str]] = collections.Counter()
        self._total = 0
        self._accepted = 0

    def add(self, row: Sequence[Any]) -> None:
        """Count one record, given as :data:`ROW_COLUMNS` (``Store.summary_rows`` rows)."""
        (ns, doctype, version, status, valid, errors, decode_error, duplicate) = row[:8]
        wire, decoded, skew = row[8:11]
        verdict, reason = (row[11], row[12]) if len(row) > 12 else (None, None)
        self._total += 1
        self._statuses[status] += 1
        ok = 200 <= status < 300
        self._accepted += ok
        if reason is not None and (not ok or verdict == UNKNOWN):
            self._reasons[(status, reason)] += 1
        if ns is None or doctype is None:
            self._other[status] += 1
            return
        group = self._groups.get((ns, doctype, version))
        if group is None:
            group = self._groups[(ns, doctype, version)] = _Group()
        group.cached = None
        group.received += 1
        group.statuses[status] += 1
        if verdict is not None:
            group.verdicts[verdict] += 1
        group.valid += valid == 1
        group.invalid += valid == 0
        group.duplicates += bool(duplicate)
        if decode_error is not None:
            group.decode_errors += 1
            group.decode_messages[decode_error] += 1
        for issue in json.loads(errors):
            group.errors[(issue["path"], issue["message"])] += 1
        group.wire.add(wire)
        if decoded is not None:
            group.decoded.add(decoded)
        if skew is not None:
            group.skew.add(skew)

    def report(self, faults: Mapping[str, int]) -> dict[str, Any]:
        """The ``/__monitor__`` document."""
        doctypes = []
        for (ns, doctype, version), g in sorted(
            self._groups.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        ):
            if g.cached is None:
                g.cached = {
                    "namespace": ns,
                    "doctype": doctype,
                    "version": version,
                    "received": g.received,
                    "valid": g.valid,
                    "invalid": g.invalid,
                    "decode_errors": g.decode_errors,
                    "duplicates": g.duplicates,
                    "statuses": {str(k): v for k, v in sorted(g.statuses.items())},
                    "verdicts": dict(sorted(g.verdicts.items())),
                    "top_errors": [
                        {"path": path, "message": message, "count": n}
                        for (path, message), n in g.errors.most_common(TOP_ERRORS)
                    ],
                    "top_decode_errors": [
                        {"message": message, "count": n}
                        for message, n in g.decode_messages.most_common(TOP_ERRORS)
                    ],
                    "wire_size": g.wire.stats(),
                    "decoded_size": g.decoded.stats(),
                    "clock_skew": g.skew.stats(),
                }
            doctypes.append(copy.deepcopy(g.cached))
        return {
            "received": self._total,
            "accepted": self._accepted,
            "rejected": self._total - self._accepted,
            "statuses": {str(k): v for k, v in sorted(self._statuses.items())},
            "unrouted": {str(k): v for k, v in sorted(self._other.items())},
            "faults": {"total": sum(faults.values()), "by_kind": dict(sorted(faults.items()))},
            "reasons": [
                {"status": status, "reason": reason, "count": n}
                for (status, reason), n in self._reasons.most_common(TOP_REASONS)
            ],
            "doctypes": doctypes,
        }


def build_report(rows: Iterable[Sequence[Any]], faults: Mapping[str, int]) -> dict[str, Any]:
    """The ``/__monitor__`` document recomputed from every stored row (``Store.summary_rows``).

    The live edge keeps :class:`Aggregates` up to date instead; both give the same document
    for the same records.
    """
    aggregates = Aggregates()
    for row in rows:
        aggregates.add(row)
    return aggregates.report(faults)


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
    for item in report.get("reasons", []):
        lines.append(f"  {item['status']} x{item['count']}: {item['reason']}")
    for d in report["doctypes"]:
        name = f"{d['namespace']}/{d['doctype']}/{_num(d['version'])}"
        for err in d["top_errors"]:
            lines.append(f"  {name} x{err['count']}: {err['path']}: {err['message']}")
        for err in d["top_decode_errors"]:
            lines.append(f"  {name} x{err['count']}: {err['message']}")
    return "\n".join(lines) + "\n"
