"""The viewer page: recent requests with their verdicts, filterable by application, doctype
and X-Debug-ID, everything escaped."""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Sequence

from pingsdk._naming import lookup_name
from pingsdk.edge._store import ReceivedPing
from pingsdk.monitoring._alerts import Alert

__all__ = ["render_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.ping{border:1px solid #ccc;border-radius:4px;margin:.8em 0;padding:.5em .8em}
.ok{color:#186a3b}.bad{color:#a93226}.muted{color:#777}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}
form input{margin-right:.5em}
.alert{border:2px solid #a93226;background:#fdf2f0;padding:.5em .8em;margin:.8em 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _verdict(ping: ReceivedPing) -> str:
    verdict = ping.verdict
    if verdict is None:  # stored by an older version
        if ping.decode_error is not None:
            verdict = "decode error"
        elif ping.valid is None:
            verdict = "not validated"
        else:
            verdict = "valid" if ping.valid else "invalid"
    if verdict.startswith("valid"):
        style = "ok"
    elif verdict in ("not validated", "unknown doctype"):
        style = "muted"
    else:
        style = "bad"
    return f'<span class="{style}">{_e(verdict)}</span>'


def _one(ping: ReceivedPing, alerted: frozenset[tuple[str, str]] = frozenset()) -> str:
    when = datetime.datetime.fromtimestamp(ping.received_at, datetime.timezone.utc)
    dup = ' <b class="bad">duplicate</b>' if ping.duplicate else ""
    if (lookup_name(ping.namespace or ""), lookup_name(ping.doctype or "")) in alerted:
        dup += ' <b class="bad" title="its docType monitor raised an alert">monitor alert</b>'
    debug = f" · debug {_e(ping.debug_id)}" if ping.debug_id else ""
    sent_by = [
        f"{label} <code>{_e(ping.headers[name])}</code>"
        for name, label in (("X-Telemetry-Agent", "agent"), ("X-Source-Tags", "tags"))
        if name in ping.headers
    ]
    parts = [
        '<div class="ping">',
        f"<div><b>{_e(ping.status)}</b> {_e(ping.method)} <code>{_e(ping.path)}</code>"
        f" {_verdict(ping)}{dup}</div>",
        f'<div class="muted">#{ping.id} at {_e(when.isoformat(timespec="seconds"))}'
        f" · {_e(ping.namespace)}/{_e(ping.doctype)}/{_e(ping.version)}"
        f" · docId {_e(ping.doc_id)} · {ping.wire_size} bytes sent"
        f"{debug}</div>",
    ]
    if sent_by:
        parts.append(f'<div class="muted">{" · ".join(sent_by)}</div>')
    if ping.reason is not None and ping.reason != ping.decode_error and not ping.errors:
        parts.append(f'<div class="muted">reason: {_e(ping.reason)}</div>')
    if ping.decode_error is not None:
        parts.append(f'<div class="bad">{_e(ping.decode_error)}</div>')
    if ping.errors:
        parts.append("<ul>")
        parts.extend(
            f'<li class="bad"><code>{_e(i.path)}</code>: {_e(i.message)}</li>' for i in ping.errors
        )
        parts.append("</ul>")
    if ping.payload is not None:
        pretty = json.dumps(ping.payload, indent=2, sort_keys=True, ensure_ascii=False)
        parts.append(f"<pre>{_e(pretty)}</pre>")
    elif ping.excerpt is not None:
        text = ping.excerpt.decode("utf-8", errors="replace")
        parts.append(
            f'<div class="muted">body (first {len(ping.excerpt)} bytes)</div><pre>{_e(text)}</pre>'
        )
    parts.append("</div>")
    return "\n".join(parts)


def _alerts(alerts: Sequence[tuple[str, str, Alert]]) -> str:
    if not alerts:
        return ""
    items = []
    for namespace, doctype, alert in alerts:
        when = datetime.datetime.fromtimestamp(alert.at, datetime.timezone.utc)
        items.append(
            f"<li><b>{_e(namespace)}/{_e(doctype)} [{_e(alert.channel)}] {_e(alert.summary)}"
            f'</b> <span class="muted">{_e(when.isoformat(timespec="seconds"))}</span>'
            f"<pre>{_e(alert.detail)}</pre></li>"
        )
    return (
        f'<div class="alert"><b>docType monitor: {len(alerts)} alert(s)</b>'
        f"<ul>{''.join(items)}</ul></div>\n"
    )


def render_page(
    pings: Sequence[ReceivedPing],
    *,
    doctype: str = "",
    debug_id: str = "",
    app: str = "",
    apps: Sequence[str] = (),
    total: int = 0,
    alerts: Sequence[tuple[str, str, Alert]] = (),
) -> str:
    """The whole HTML page for ``pings`` (already filtered, newest first); ``apps`` are the
    applications (namespaces) offered in the filter; ``alerts`` (namespace, doctype, alert)
    are the docType monitor's, listed on top and marked on the pings of their docType."""
    alerted = frozenset((lookup_name(ns), lookup_name(dt)) for ns, dt, _ in alerts)
    body = "\n".join(_one(p, alerted) for p in pings) or '<p class="muted">No pings yet.</p>'
    options = "".join(
        f'<option value="{_e(name)}"{" selected" if name == app else ""}>{_e(name)}</option>'
        for name in apps
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pingsdk edge</title>
<style>{_STYLE}</style></head><body>
<h1>pingsdk edge</h1>
<form method="get" action="/">
<label>application <select name="app"><option value="">all</option>{options}</select></label>
<label>doctype <input name="doctype" value="{_e(doctype)}"></label>
<label>X-Debug-ID <input name="debug_id" value="{_e(debug_id)}"></label>
<button type="submit">filter</button> <a href="/__monitor__">monitor (JSON)</a>
</form>
{_alerts(alerts)}<p class="muted">showing {len(pings)} of {total} stored requests, newest first</p>
{body}
</body></html>
"""
