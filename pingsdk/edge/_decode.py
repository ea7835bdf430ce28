"""Body decoding as the pipeline's decoder does it: gzip sniffed, 8 MiB cap, a JSON object."""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Any

from ._rules import MAX_DECODED

__all__ = ["Decoded", "decode_body"]

_GZIP_MAGIC = b"\x1f\x8b"


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


def _gunzip(body: bytes) -> bytes:
    # A bounded decompressor: a gzip bomb stops at the cap instead of filling memory.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, MAX_DECODED + 1)
    if len(out) <= MAX_DECODED and not inflater.eof:
        raise zlib.error("truncated gzip stream")
    return out


def decode_body(body: bytes) -> Decoded:
    """Decode a request body; never raises (a failure is :attr:`Decoded.error`)."""
    raw = body
    if body[:2] == _GZIP_MAGIC:
        try:
            raw = _gunzip(body)
        except zlib.error as exc:
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
    except RecursionError:
        return Decoded(None, None, len(raw), "body is not JSON (nested too deeply)")
    if not isinstance(payload, dict):
        return Decoded(None, None, len(raw), "body is not a JSON object")
    return Decoded(payload, text, len(raw), None)
