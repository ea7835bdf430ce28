"""Deterministic gzip and the edge's size limits, with real gzip."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pingsdk import PayloadTooLargeError
from pingsdk.wire import _encoding
from pingsdk.wire._encoding import (
    MAX_COMPRESSED_BYTES,
    MAX_JSON_BYTES,
    decode_body,
    encode_body,
)

PAYLOAD = b'{"engine":"ddg","count":3,"nested":{"list":[1,2,3],"text":"h\xc3\xa9llo"}}'


def _json_of_size(size: int) -> bytes:
    return b'{"a":"' + b"x" * (size - 8) + b'"}'


def test_gzip_round_trip_and_header() -> None:
    body = encode_body(PAYLOAD)
    assert gzip.decompress(body) == PAYLOAD
    assert body[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags (no file name)
    assert body[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert body[9] == 0xFF  # OS unknown, on every platform


def test_same_bytes_every_time_and_in_another_process() -> None:
    first = encode_body(PAYLOAD)
    assert all(encode_body(PAYLOAD) == first for _ in range(20))
    # The child loads pingsdk.wire._encoding under bare packages, without their __init__:
    # nothing but this module decides the bytes.
    wire_dir = Path(_encoding.__file__).parent
    code = (
        "import sys, types; pkg = types.ModuleType('pingsdk'); "
        f"pkg.__path__ = [{str(wire_dir.parent)!r}]; sys.modules['pingsdk'] = pkg; "
        "wire = types.ModuleType('pingsdk.wire'); "
        f"wire.__path__ = [{str(wire_dir)!r}]; sys.modules['pingsdk.wire'] = wire; "
        "from pingsdk.wire._encoding import encode_body; "
        "sys.stdout.buffer.write(encode_body(sys.stdin.buffer.read()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], input=PAYLOAD, capture_output=True, check=True
    ).stdout
    assert other == first


def test_plain_body_is_the_json() -> None:
    assert encode_body(PAYLOAD, compress=False) is PAYLOAD


def test_json_limit_exact_and_plus_one() -> None:
    exact = _json_of_size(MAX_JSON_BYTES)
    assert len(exact) == 8 * 1024 * 1024
    assert gzip.decompress(encode_body(exact)) == exact
    with pytest.raises(PayloadTooLargeError) as info:
        encode_body(_json_of_size(MAX_JSON_BYTES + 1))
    err = info.value
    assert (err.size, err.limit, err.kind) == (MAX_JSON_BYTES + 1, MAX_JSON_BYTES, "json")
    assert "8,388,609 bytes" in str(err)
    assert "at most 8,388,608 (8 MiB)" in str(err)


def test_incompressible_body_over_1_mb() -> None:
    # Random hex carries 4 bits per byte: 2.2 MB of JSON gzips to ~1.1 MB, under 8 MiB of JSON.
    secret = os.urandom(1_100_000).hex().encode()
    random_json = b'{"r":"' + secret + b'"}'
    assert len(random_json) < MAX_JSON_BYTES
    with pytest.raises(PayloadTooLargeError) as info:
        encode_body(random_json)
    err = info.value
    assert err.kind == "compressed"
    assert err.limit == MAX_COMPRESSED_BYTES == 1_048_576
    assert err.size > MAX_COMPRESSED_BYTES
    assert "(gzipped)" in str(err) and "at most 1,048,576 (1 MB)" in str(err)
    assert secret[:20].decode() not in str(err)  # no payload contents in messages


def test_uncompressed_body_counts_toward_the_wire_limit() -> None:
    body = _json_of_size(MAX_COMPRESSED_BYTES)
    assert encode_body(body, compress=False) is body
    with pytest.raises(PayloadTooLargeError, match=r"compress=False.*enable compression") as info:
        encode_body(_json_of_size(MAX_COMPRESSED_BYTES + 1), compress=False)
    assert info.value.kind == "compressed"
    assert len(encode_body(_json_of_size(MAX_COMPRESSED_BYTES + 1))) < 10_000  # gzip fits


def test_needs_bytes() -> None:
    with pytest.raises(TypeError, match="json_bytes must be bytes, got str"):
        encode_body('{"a":1}')  # type: ignore[arg-type]


def test_decode_body() -> None:
    body = encode_body(PAYLOAD)
    assert decode_body(body, "gzip") == PAYLOAD
    assert decode_body(body) == PAYLOAD  # sniffed, as the pipeline does
    assert decode_body(body, "GZIP ") == PAYLOAD
    assert decode_body(PAYLOAD) == PAYLOAD
    assert decode_body(PAYLOAD, "identity") == PAYLOAD
    assert decode_body(gzip.compress(b'{"a":') + gzip.compress(b"1}")) == b'{"a":1}'


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"not gzip", "gzip", "not valid gzip"),
        (encode_body(PAYLOAD)[:-12], None, "truncated"),
        (b"\x1f\x8b\x08garbage", None, "not valid gzip"),
        (PAYLOAD, "br", "unsupported Content-Encoding 'br'"),
    ],
)
def test_decode_body_errors(body: bytes, encoding: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_body(body, encoding)


def test_decode_body_stops_a_gzip_bomb() -> None:
    bomb = gzip.compress(b"\x00" * (MAX_JSON_BYTES + 100), compresslevel=9)
    assert len(bomb) < 20_000
    with pytest.raises(PayloadTooLargeError) as info:
        decode_body(bomb, "gzip")
    assert info.value.kind == "json"
    assert info.value.size == MAX_JSON_BYTES + 1  # stopped right past the limit


def test_compression_level_is_the_zlib_default() -> None:
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = deflate.compress(PAYLOAD) + deflate.flush()
    assert encode_body(PAYLOAD)[10:-8] == raw
