"""The viewer page: recent pings, filterable by doctype and X-Debug-ID, everything escaped."""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Sequence

from ._store import ReceivedPing

__all__ = ["render_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.ping{border:1px solid #ccc;border-radius:4px;margin:.8em 0;padding:.5em .8em}
.ok{color:#186a3b}.bad{color:#a93226}.muted{color:#777}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}
form input{margin-right:.5em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _verdict(ping: ReceivedPing) -> str:
    if ping.decode_error is not None:
        return '<span class="bad">decode error</span>'
    if ping.valid is None:
        return '<span class="muted">not validated</span>'
    return '<span class="ok">valid</span>' if ping.valid else '<span class="bad">invalid</span>'


def _one(ping: ReceivedPing) -> str:
    when = datetime.datetime.fromtimestamp(ping.received_at, datetime.timezone.utc)
    dup = ' <b class="bad">duplicate</b>' if ping.duplicate else ""
    debug = f" · debug {_e(ping.debug_id)}" if ping.debug_id else ""
    parts = [
        '<div class="ping">',
        f"<div><b>{_e(ping.status)}</b> {_e(ping.method)} <code>{_e(ping.path)}</code>"
        f" {_verdict(ping)}{dup}</div>",
        f'<div class="muted">#{ping.id} at {_e(when.isoformat(timespec="seconds"))}'
        f" · {_e(ping.namespace)}/{_e(ping.doctype)}/{_e(ping.version)}"
        f" · docId {_e(ping.doc_id)} · {ping.wire_size} bytes sent"
        f"{debug}</div>",
    ]
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
    parts.append("</div>")
    return "\n".join(parts)


def render_page(
    pings: Sequence[ReceivedPing], *, doctype: str = "", debug_id: str = "", total: int = 0
) -> str:
    """The whole HTML page for ``pings`` (already filtered, newest first)."""
    body = "\n".join(_one(p) for p in pings) or '<p class="muted">No pings yet.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pingsdk edge</title>
<style>{_STYLE}</style></head><body>
<h1>pingsdk edge</h1>
<form method="get" action="/">
<label>doctype <input name="doctype" value="{_e(doctype)}"></label>
<label>X-Debug-ID <input name="debug_id" value="{_e(debug_id)}"></label>
<button type="submit">filter</button> <a href="/__monitor__">monitor (JSON)</a>
</form>
<p class="muted">showing {len(pings)} of {total} stored requests, newest first</p>
{body}
</body></html>
"""
