"""Body decoding as the pipeline's decoder does it: gzip sniffed, 8 MiB cap, a JSON object."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from pingsdk._exceptions import PayloadTooLargeError
from pingsdk.edge._rules import MAX_DECODED
from pingsdk.wire._encoding import decode_body as gunzip

__all__ = ["Decoded", "decode_body"]


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    """The outcome of decoding one body.

    Attributes:
        payload: the JSON object, or ``None`` when decoding failed.
        text: the decoded JSON text (what is stored), or ``None``.
        size: bytes after decompression (as far as it got).
        error: why decoding failed, or ``None``.
    """

    payload: dict[str, Any] | None
    text: str | None
    size: int
    error: str | None


def decode_body(body: bytes) -> Decoded:
    """Decode a request body; never raises (a failure is :attr:`Decoded.error`)."""
    try:
        # The client's own decoder: gzip sniffed by its magic bytes, decompression bounded.
        raw = gunzip(body)
    except PayloadTooLargeError as exc:
        return Decoded(None, None, exc.size, f"JSON over {MAX_DECODED} bytes after decompression")
    except ValueError as exc:
        return Decoded(None, None, 0, f"bad gzip body ({exc})")
    if len(raw) > MAX_DECODED:
        return Decoded(None, None, len(raw), f"JSON over {MAX_DECODED} bytes after decompression")
    try:
        text = raw.decode("utf-8")
        payload = json.loads(text)
    except UnicodeDecodeError:
        return Decoded(None, None, len(raw), "body is not UTF-8")
    except json.JSONDecodeError as exc:
        return Decoded(None, None, len(raw), f"body is not JSON ({exc.msg} at {exc.pos})")
    except ValueError:
        # Python refuses to parse integers over 4,300 digits (int_max_str_digits); the
        # pipeline could not load such a number into BigQuery either.
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        return Decoded(
            None, None, len(raw), f"body holds an integer over {limit} digits (not readable)"
        )
    except RecursionError:
        return Decoded(None, None, len(raw), "body is not JSON (nested too deeply)")
    if not isinstance(payload, dict):
        return Decoded(None, None, len(raw), "body is not a JSON object")
    return Decoded(payload, text, len(raw), None)
