"""The order of the edge's answers, as one pure function: request facts in, verdict out.

:func:`answer` walks the rules in the order the edge applies them; the first that applies decides
the status (later ones may still add to the stored record):

=====  ==============================  ===========================================================
order  rule                            answer
=====  ==============================  ===========================================================
1      fault ``reset`` / ``timeout``   no answer (the connection is reset or held); not stored
2      method                          405 with ``Allow: POST, PUT``
3      client gone                     no answer: the body never arrived; not stored
4      fault with a status             that status (``Retry-After`` on 429/503); not stored
5      431                             a path, query or kept header over 1024 bytes
6      route                           404: not a submit path (lenient :func:`parse_submit_path`)
7      size                            411 / 400 / 413 from the body's framing
8      schema                          no schema for the name: a Glean ping is checked against the
                                       generic Glean schema, anything else is ``unknown doctype``
                                       (200; strict: 404)
9      docId, decode                   ``decode error`` (200; strict: 400)
10     validation                      ``valid`` / ``invalid`` (200; strict: 400 for invalid)
=====  ==============================  ===========================================================

Faults are drawn only for ``POST``/``PUT``, so rules 1 and 4 never meet rule 2 in the server. A
docId or decode problem of a ping whose name has no schema is recorded with it, but the schema
rule decides the status. Nothing here does I/O but asking the schema store, which compiles a
schema file the first time it is used.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pingsdk._exceptions import ConfigurationError
from pingsdk._naming import is_doc_id, parse_version
from pingsdk.edge._decode import Decoded, decode_body
from pingsdk.edge._faults import Fault
from pingsdk.edge._monitor import UNKNOWN
from pingsdk.edge._rules import ALLOW, oversized_field
from pingsdk.edge._schemas import SchemaStore, glean_shape
from pingsdk.schema._validation import ValidationIssue
from pingsdk.wire._urls import SubmitPath, parse_submit_path

__all__ = [
    "DECODE_ERROR",
    "EXCERPT_BYTES",
    "KEPT_PAYLOAD_BYTES",
    "NOT_VALIDATED",
    "REFUSED",
    "Answer",
    "Request",
    "answer",
    "refusal",
]

REFUSED = "refused"
DECODE_ERROR = "decode error"
NOT_VALIDATED = "not validated"
# How much of a body that is not kept as the payload is kept, for the viewer.
EXCERPT_BYTES = 16 * 1024
# A payload of a refused request is kept whole up to this size, else as an excerpt.
KEPT_PAYLOAD_BYTES = 64 * 1024
# The strict edge's 400 body: the summary clients show (they read the first 1 KiB) and how
# many errors the JSON lists.
_SUMMARY_CHARS = 800
_MESSAGE_CHARS = 160
_LISTED_ERRORS = 50
_METHODS = ("POST", "PUT")


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What the server learnt about one submit request before deciding.

    Attributes:
        method: the HTTP method.
        path: the path without its query.
        query: the query string (without ``?``).
        headers: the kept headers (:data:`~pingsdk.edge._rules.KEPT_HEADERS`) the client sent.
        body: the body as sent; ``None`` when its framing refused it or the client left.
        refused: the status the framing refuses the body with (411, 400, 413), else ``None``.
        refused_reason: why the framing refused it.
        client_gone: the client closed the connection before sending the whole body.
        fault: the fault drawn for this request, if any.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes | None = None
    refused: int | None = None
    refused_reason: str = ""
    client_gone: bool = False
    fault: Fault | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """The verdict on one request.

    Attributes:
        rule: the rule that decided (``"fault"``, ``"method"``, ``"gone"``, ``"431"``,
            ``"route"``, ``"size"``, ``"schema"``, ``"decode"``, ``"validation"``).
        status: the HTTP status to answer, or ``None`` for no answer (reset, held, gone).
        reason: the short reason logged and stored with the request.
        headers: extra response headers.
        fields: what to store in the request's record (verdict, route, sizes, payload, errors).
        stored: whether the request is stored (faults and a gone client are not).
        fault: the fault kind to count, if a fault decided.
    """

    rule: str
    status: int | None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    stored: bool = True
    fault: str | None = None


def answer(request: Request, schemas: SchemaStore | None, *, strict: bool) -> Answer:
    """Decide how the edge answers ``request`` (see the module's table for the order).

    Args:
        request: the facts about the request.
        schemas: the schema store, or ``None`` to validate nothing and know every name.
        strict: refuse invalid, undecodable and unknown pings (400, 404) instead of taking them.
    """
    fault = request.fault
    if fault is not None and fault.kind in ("reset", "timeout"):
        return Answer("fault", None, "injected fault", stored=False, fault=fault.kind)
    if request.method not in _METHODS:
        reason = f"method {request.method} not allowed (use POST or PUT)"
        return Answer("method", 405, reason, (("Allow", ALLOW),))
    if request.client_gone:
        return Answer("gone", None, "client closed the connection", stored=False)
    if fault is not None:
        wait = (("Retry-After", str(fault.retry_after)),) if fault.kind in ("429", "503") else ()
        reason = f"injected fault {fault.kind}"
        return Answer("fault", int(fault.kind), reason, wait, stored=False, fault=fault.kind)
    body = request.body
    fields: dict[str, Any] = {"wire_size": len(body)} if body is not None else {}
    too_long = oversized_field(request.path, request.query, dict(request.headers))
    if too_long is not None:
        return Answer("431", 431, f"{too_long} over 1024 bytes", fields=fields | _kept(body))
    try:
        route = parse_submit_path(request.path, strict=False)
    except ConfigurationError as exc:
        return Answer("route", 404, str(exc), fields=fields | _kept(body))
    fields.update(
        namespace=route.namespace,
        doctype=route.doctype,
        version=route.version,
        doc_id=route.doc_id,
        legacy=json.dumps(route.legacy) if route.legacy else None,
    )
    if request.refused is not None or body is None:
        return Answer("size", request.refused or 411, request.refused_reason, fields=fields)
    agent = request.headers.get("X-Telemetry-Agent")
    return _judged(route, body, fields, agent=agent, schemas=schemas, strict=strict)


def _judged(
    route: SubmitPath,
    body: bytes,
    fields: dict[str, Any],
    *,
    agent: str | None,
    schemas: SchemaStore | None,
    strict: bool,
) -> Answer:
    """Rules 8 to 10 for a routed request whose whole body arrived."""
    problems: list[str] = []
    if not is_doc_id(route.doc_id, any_case=True):
        problems.append("docId is not a UUID (8-4-4-4-12 hex)")
    decoded = decode_body(body)
    fields.update(decoded_size=decoded.size, payload=decoded.text)
    if decoded.error is not None:
        problems.append(decoded.error)
        fields["excerpt"] = body[:EXCERPT_BYTES]
    unknown = (
        schemas.missing(route.namespace, route.doctype, route.version)
        if schemas is not None
        else None
    )
    if schemas is not None and unknown is not None:
        return _unknown(
            route,
            decoded,
            problems,
            fields,
            unknown=unknown,
            agent=agent,
            schemas=schemas,
            strict=strict,
        )
    version = route.version
    if decoded.payload is not None and version is None:
        version, problem = _legacy_version(route, decoded.payload, schemas)
        fields["version"] = version
        if problem is not None:
            problems.append(problem)
    issues: list[ValidationIssue] = []
    verdict = NOT_VALIDATED
    if schemas is not None and decoded.payload is not None and version is not None and not problems:
        if schemas.missing(route.namespace, route.doctype, version) is not None:
            problems.append(
                f"no schema {route.namespace}/{route.doctype} version {version}"
                " (legacy URL: the version comes from the payload)"
            )
        else:
            issues = schemas.validate(route.namespace, route.doctype, version, decoded.payload)
            verdict = "invalid" if issues else "valid"
    return _validated(verdict, issues, problems, fields, strict=strict)


def _legacy_version(
    route: SubmitPath, payload: dict[str, Any], schemas: SchemaStore | None
) -> tuple[int | None, str | None]:
    """The schema version of a legacy ping (its URL has none) and the problem with it, if any."""
    version, problem = _payload_version(payload)
    if schemas is not None and (
        problem is not None or schemas.missing(route.namespace, route.doctype, version) == "version"
    ):
        # The pipeline would refuse these, but the schema repository's own examples include
        # legacy pings whose payload version names no schema (block-autoplay.1 says
        # "version": 4); with one schema version there is no doubt which applies.
        only = schemas.single_version(route.namespace, route.doctype)
        if only is not None:
            return only, None
    return version, problem


def _unknown(
    route: SubmitPath,
    decoded: Decoded,
    problems: list[str],
    fields: dict[str, Any],
    *,
    unknown: str,
    agent: str | None,
    schemas: SchemaStore,
    strict: bool,
) -> Answer:
    """A ping whose namespace, doctype or version has no schema: a Glean ping is checked
    against the generic Glean schema; anything else is recorded as an unknown doctype."""
    payload = decoded.payload
    generic = None
    if payload is not None and unknown in ("namespace", "doctype"):
        generic = glean_shape(route.version, payload, agent)
    if payload is not None and generic is not None and generic in schemas.generic:
        issues = [] if problems else schemas.validate_generic(generic, payload)
        verdict = f"{'invalid' if issues else 'valid'} (generic {generic})"
        return _validated(verdict, issues, problems, fields, strict=strict)
    if unknown == "namespace":
        reason = f"no schema for namespace {route.namespace!r}"
    elif unknown == "doctype":
        reason = f"no schema {route.namespace}/{route.doctype}"
    else:
        reason = f"no schema {route.namespace}/{route.doctype} version {route.version}"
    if problems:
        fields["decode_error"] = "; ".join(problems)
    fields["verdict"] = UNKNOWN
    # Like the real edge, the lenient edge takes it (the pipeline's decoder reports it later);
    # the strict one refuses it.
    return Answer("schema", 404 if strict else 200, reason, fields=fields)


def _validated(
    verdict: str,
    issues: Sequence[ValidationIssue],
    problems: list[str],
    fields: dict[str, Any],
    *,
    strict: bool,
) -> Answer:
    """Rules 9 and 10: a decode error, else the schema's verdict."""
    fields["errors"] = json.dumps(
        [{"path": i.path, "message": i.message, "keyword": i.keyword} for i in issues],
        ensure_ascii=False,
    )
    if verdict != NOT_VALIDATED and not problems:
        fields["valid"] = int(not issues)
    reason: str | None = None
    rule = "validation"
    if problems:
        fields["decode_error"] = "; ".join(problems)
        verdict, rule = DECODE_ERROR, "decode"
        reason = fields["decode_error"]
    elif issues:
        reason = _issues_reason(issues)
    fields["verdict"] = verdict
    status = 400 if strict and (problems or issues) else 200
    return Answer(rule, status, reason, fields=fields)


def _kept(body: bytes | None) -> dict[str, Any]:
    """What a refused request keeps: its payload whole up to 64 KiB, else the body's start."""
    if not body:
        return {}
    decoded = decode_body(body)
    if decoded.text is not None and len(decoded.text) <= KEPT_PAYLOAD_BYTES:
        return {"payload": decoded.text, "decoded_size": decoded.size}
    if decoded.text is not None:
        return {"excerpt": decoded.text.encode("utf-8")[:EXCERPT_BYTES]}
    return {"excerpt": body[:EXCERPT_BYTES]}


def _issues_reason(issues: Sequence[ValidationIssue]) -> str:
    """Where the schema errors are (paths and keywords, no payload values)."""
    shown = ", ".join(f"{i.path} ({i.keyword})" for i in issues[:3])
    more = f" and {len(issues) - 3} more" if len(issues) > 3 else ""
    return f"{len(issues)} schema error{'s' if len(issues) != 1 else ''}: {shown}{more}"


def _payload_version(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    """gcp-ingestion's rule: the first scalar of top-level ``version``, then ``v``."""
    for key in ("version", "v"):
        value = payload.get(key)
        if key in payload and not isinstance(value, (dict, list)):
            version = parse_version(value)
            if version is None:
                return None, f"payload {key!r} is not a positive integer version below 2^63"
            return version, None
    return None, "payload has no top-level 'version' or 'v' (needed for legacy telemetry URLs)"


def refusal(record: Mapping[str, Any]) -> dict[str, Any]:
    """The strict edge's 400 body for a stored record: a one-line summary first (clients show
    the first 1 KiB), then the errors themselves."""
    errors = json.loads(record["errors"])
    parts = []
    if record.get("decode_error"):
        parts.append(str(record["decode_error"]))
    for error in errors:
        message = error["message"]
        if len(message) > _MESSAGE_CHARS:
            message = message[: _MESSAGE_CHARS - 3] + "..."
        parts.append(f"{error['path']}: {message}")
    summary = ""
    for count, part in enumerate(parts):
        candidate = f"{summary}; {part}" if summary else part
        if len(candidate) > _SUMMARY_CHARS:
            summary += f"; and {len(parts) - count} more"
            break
        summary = candidate
    if errors:
        noun = "schema error" if len(errors) == 1 else "schema errors"
        generic = str(record["verdict"]).partition("(")[2].rstrip(")")
        schema = generic or f"{record['namespace']}/{record['doctype']} version {record['version']}"
        head = f"{len(errors)} {noun} against {schema}"
    else:
        head = "decode error"
    return {
        "status": 400,
        "message": f"{head}: {summary}",
        "decode_error": record.get("decode_error"),
        "error_count": len(errors),
        "errors": errors[:_LISTED_ERRORS],
    }
