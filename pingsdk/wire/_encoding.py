"""Request bodies: deterministic gzip and the edge's size limits. No I/O.

The gzip member is framed here rather than by :func:`gzip.compress`, whose header differs
between Python versions (3.10 writes OS=255 through ``GzipFile``; 3.11+ lets zlib write its own
OS byte). With a fixed header (mtime 0, no name, XFL 0, OS 255) and a fixed compression level,
the same JSON gives the same bytes on every supported Python with the same zlib. Retries do not
depend on it anyway: the encoded body is stored in the queue once and re-sent as stored.
"""

from __future__ import annotations

import struct
import sys
import zlib

from pingsdk._exceptions import PayloadTooLargeError

__all__ = [
    "COMPRESSION_LEVEL",
    "MAX_COMPRESSED_BYTES",
    "MAX_JSON_BYTES",
    "decode_body",
    "encode_body",
]

MAX_COMPRESSED_BYTES = 1_048_576
"""The request body as sent (gzipped, or plain with ``compress=False``): 1 MB."""
MAX_JSON_BYTES = 8 * 1024 * 1024
"""The JSON before compression (the decoder's limit): 8 MiB."""
COMPRESSION_LEVEL = 6
"""zlib's default level: within a few percent of level 9's size at a fraction of its time."""

# magic, method=deflate, flags=0, mtime=0, xfl=0, os=255 (unknown)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


if sys.version_info >= (3, 11):

    def _deflate(data: bytes) -> bytes:
        """Raw deflate in one call (zlib.compress takes wbits since 3.11)."""
        return zlib.compress(data, COMPRESSION_LEVEL, -zlib.MAX_WBITS)

else:  # pragma: no cover - Python 3.10

    def _deflate(data: bytes) -> bytes:
        """Raw deflate (a compressobj: zlib.compress has no wbits before 3.11)."""
        deflate = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        return deflate.compress(data) + deflate.flush()


def _fmt(n: int) -> str:
    return f"{n:,}"


def encode_body(json_bytes: bytes, *, compress: bool = True) -> bytes:
    """The request body for a ping's JSON: gzipped (deterministically) unless ``compress=False``.

    Args:
        json_bytes: the payload as UTF-8 JSON (``Ping.to_json_bytes()``).
        compress: gzip it (the default; ``Content-Encoding: gzip``).

    Returns:
        The exact bytes to send; the same input always gives the same bytes.

    Raises:
        PayloadTooLargeError: ``kind="json"`` when the JSON is over 8 MiB, ``kind="compressed"``
            when the body as sent is over 1 MB (1,048,576 bytes).
        TypeError: ``json_bytes`` is not bytes.

    >>> import gzip
    >>> body = encode_body(b'{"a":1}')
    >>> gzip.decompress(body), body == encode_body(b'{"a":1}')
    (b'{"a":1}', True)
    """
    if not isinstance(json_bytes, bytes):
        raise TypeError(f"json_bytes must be bytes, got {type(json_bytes).__name__}")
    size = len(json_bytes)
    if size > MAX_JSON_BYTES:
        raise PayloadTooLargeError(
            f"the ping's JSON is {_fmt(size)} bytes; the pipeline accepts at most "
            f"{_fmt(MAX_JSON_BYTES)} (8 MiB): send less data per ping",
            size=size,
            limit=MAX_JSON_BYTES,
            kind="json",
        )
    if compress:
        body = b"".join(
            (
                _GZIP_HEADER,
                _deflate(json_bytes),
                struct.pack("<II", zlib.crc32(json_bytes), size & 0xFFFFFFFF),
            )
        )
    else:
        body = json_bytes
    if len(body) > MAX_COMPRESSED_BYTES:
        how, fix = (
            ("gzipped", "send less (or more repetitive) data per ping")
            if compress
            else ("uncompressed, since compress=False", "enable compression or send less data")
        )
        raise PayloadTooLargeError(
            f"the request body ({how}) is {_fmt(len(body))} bytes; the edge accepts at most "
            f"{_fmt(MAX_COMPRESSED_BYTES)} (1 MB): {fix}",
            size=len(body),
            limit=MAX_COMPRESSED_BYTES,
            kind="compressed",
        )
    return body


def decode_body(body: bytes, content_encoding: str | None = None) -> bytes:
    """The JSON bytes of a request body, gunzipped when it is gzip (by header or by sniffing the
    magic bytes, as the pipeline does). Decompression stops past 8 MiB (no gzip bomb).

    Args:
        body: the request body as received.
        content_encoding: the ``Content-Encoding`` header, if any.

    Raises:
        ValueError: ``Content-Encoding`` says gzip (or the magic bytes do) and the body is not
            valid gzip, or another content encoding is named.
        PayloadTooLargeError: ``kind="json"`` when the decompressed body is over 8 MiB.

    >>> decode_body(encode_body(b'{"a":1}'))
    b'{"a":1}'
    """
    encoding = (content_encoding or "").strip().lower()
    if encoding not in {"", "gzip", "identity", "x-gzip"}:
        raise ValueError(f"unsupported Content-Encoding {content_encoding!r}: use gzip or none")
    if encoding in {"", "identity"} and not body.startswith(b"\x1f\x8b"):
        return bytes(body)
    out: list[bytes] = []
    total = 0
    data = bytes(body)
    try:
        while data:  # concatenated gzip members form one stream (RFC 1952)
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                chunk = inflate.decompress(data, MAX_JSON_BYTES + 1 - total)
                total += len(chunk)
                out.append(chunk)
                if total > MAX_JSON_BYTES:
                    raise PayloadTooLargeError(
                        f"the decompressed body is over {_fmt(MAX_JSON_BYTES)} bytes (8 MiB)",
                        size=total,
                        limit=MAX_JSON_BYTES,
                        kind="json",
                    )
                data = inflate.unconsumed_tail
                if inflate.eof or not data:
                    break
            if not inflate.eof:
                raise ValueError("the gzip body is truncated")
            data = inflate.unused_data
    except zlib.error as exc:
        raise ValueError(f"the body is not valid gzip ({exc})") from None
    return b"".join(out)
