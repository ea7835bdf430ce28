"""Validate payloads against a schema with the schema's declared draft, as the repository does."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pingsdk._exceptions import ConfigurationError
from pingsdk._naming import lookup_name, parse_version

if TYPE_CHECKING:
    # jsonschema (with referencing, attrs and rpds) would be the largest import of `import pingsdk`,
    # and only exporting and validating need it: the functions below import it when called.
    import jsonschema
    import jsonschema.protocols

__all__ = [
    "ExampleResult",
    "RepositoryReport",
    "ValidationIssue",
    "find_schema",
    "load_schema",
    "repository_schemas",
    "schema_validator",
    "validate_payload",
    "validate_repository",
]


@functools.cache
def _drafts() -> dict[str, type[jsonschema.protocols.Validator]]:
    """The validator class of each ``$schema`` URI the repository uses (imports jsonschema)."""
    import jsonschema

    return {
        "http://json-schema.org/draft-04/schema#": jsonschema.Draft4Validator,
        "http://json-schema.org/draft-04/schema": jsonschema.Draft4Validator,
        "http://json-schema.org/draft-06/schema#": jsonschema.Draft6Validator,
        "http://json-schema.org/draft-06/schema": jsonschema.Draft6Validator,
        "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
        "http://json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
    }


@dataclasses.dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One reason a payload does not match its schema.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.engines[2].count`` (``$`` is the root).
        message: the validator's message.
        keyword: the schema keyword that failed (``type``, ``required``, ...).
    """

    path: str
    message: str
    keyword: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON schema file; ConfigurationError if it is not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a schema must be a JSON object")
    return data


def schema_validator(
    schema: Mapping[str, Any], *, format_check: bool = False
) -> jsonschema.protocols.Validator:
    """A validator for ``schema`` using its declared ``$schema`` draft.

    No format assertion unless ``format_check`` (the repository's tests assert none either).
    An undeclared draft falls back to draft-04, the production validator's draft.
    """
    import jsonschema.validators

    declared = schema.get("$schema")
    cls = _drafts().get(declared) if isinstance(declared, str) else None
    if cls is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    checker = _format_checker(cls) if format_check else None
    return cls(schema, format_checker=checker)


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_rfc3339(value: object) -> bool:
    """RFC 3339 ``date-time`` (an offset is required), without the optional extra package."""
    if not isinstance(value, str):
        return True  # formats only constrain strings
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    date, time, _, offset = match.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        # Seconds may be 60 in a leap second; fromisoformat does not know them.
        datetime.datetime.fromisoformat(f"{date}T{time.replace(':60', ':59')}{offset}")
    except ValueError:
        return False
    return True


def _format_checker(cls: type[jsonschema.protocols.Validator]) -> jsonschema.FormatChecker:
    """The draft's format checker, plus ``date-time`` when jsonschema lacks its optional
    ``rfc3339-validator`` dependency (otherwise ``date-time`` would silently go unchecked)."""
    import jsonschema

    base = cls.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    if "date-time" not in checker.checkers:
        checker.checkers["date-time"] = (_is_rfc3339, ())
    return checker


def json_path(parts: Sequence[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``$.a[0].b`` (keys that are not identifiers are bracket-quoted)."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def validate_payload(
    schema: Mapping[str, Any] | jsonschema.protocols.Validator,
    payload: Any,
    *,
    format_check: bool = False,
) -> list[ValidationIssue]:
    """Every way ``payload`` fails ``schema``, sorted by path; empty when valid."""
    validator = (
        schema_validator(schema, format_check=format_check)
        if isinstance(schema, Mapping)
        else schema
    )
    issues = [
        ValidationIssue(
            path=json_path(list(err.absolute_path)),
            message=err.message,
            keyword=str(err.validator),
        )
        for err in validator.iter_errors(payload)
    ]
    return sorted(issues, key=lambda i: (i.path, i.keyword, i.message))


# -- the schema repository's own test: validation/ examples against schemas/ ------------------

_SCHEMA_SUFFIX = ".schema.json"
# The repository's test asserts that no schema lies deeper than schemas/<ns>/<folder>/<file>.
_MAX_SCHEMA_PARTS = 3


def repository_schemas(schemas_dir: Path) -> dict[tuple[str, str, str], Path]:
    """Every schema under ``schemas_dir`` keyed the way the schema repository's own test keys
    it: ``(namespace, doctype, version)`` as written, ``-`` and ``_`` *not* alike.

    The namespace is the first folder under ``schemas/``; doctype and version are the first two
    dot-separated parts of the file name, whatever the folder between is called (the
    repository has ``schemas/glean/glean/glean-min.1.schema.json``). Files deeper than
    ``schemas/<ns>/<folder>/<file>`` are left out (see :func:`misplaced_schemas`). When two files
    share a key, the one in a folder named after its doctype wins, else the first by path.
    """
    found: dict[tuple[str, str, str], Path] = {}
    for path in sorted(schemas_dir.glob(f"**/*{_SCHEMA_SUFFIX}")):
        parts = path.relative_to(schemas_dir).parts
        if not 2 <= len(parts) <= _MAX_SCHEMA_PARTS:
            continue
        doctype, version = path.name.split(".")[:2]
        key = (parts[0], doctype, version)
        if key not in found or (found[key].parent.name != doctype and path.parent.name == doctype):
            found[key] = path
    return found


def misplaced_schemas(schemas_dir: Path) -> list[Path]:
    """Schema files deeper than ``schemas/<ns>/<folder>/<file>``: the repository's test
    refuses them ("schemas directory too deep")."""
    return [
        path
        for path in sorted(schemas_dir.glob(f"**/*{_SCHEMA_SUFFIX}"))
        if len(path.relative_to(schemas_dir).parts) > _MAX_SCHEMA_PARTS
    ]


def schema_index(schemas_dir: Path) -> dict[tuple[str, str, int], Path]:
    """Every schema under ``schemas_dir`` keyed by ``(lookup_name(ns), lookup_name(doctype), v)``,
    as the pipeline looks documents up (``-`` and ``_`` alike, integer version).

    The same files as :func:`repository_schemas` (schemas in a folder not named after their
    doctype included), less those whose version is not written as the pipeline writes one
    (:data:`pingsdk._naming.VERSION_PATTERN`). When two files normalize to
    the same key, the one whose names match exactly in the standard layout wins.
    """
    index: dict[tuple[str, str, int], Path] = {}
    exact = repository_schemas(schemas_dir)
    # Standard-layout files first, so they win a collision.
    ordered = sorted(exact.items(), key=lambda item: item[1].parent.name != item[0][1])
    for (namespace, doctype, version_text), path in ordered:
        version = parse_version(version_text)
        if version is not None:
            index.setdefault((lookup_name(namespace), lookup_name(doctype), version), path)
    return index


def find_schema(root: str | Path, namespace: str, doctype: str, version: int) -> Path | None:
    """The schema file for a ping in a schema-repository tree, or ``None``.

    Looks for ``schemas/<namespace>/<doctype>/<doctype>.<version>.schema.json``, comparing
    namespace and doctype with ``-`` and ``_`` treated alike, as the pipeline does.

    Args:
        root: the repository root (holding ``schemas/``).
        namespace, doctype, version: the ping's identity.
    """
    root = Path(root)
    direct = root / "schemas" / namespace / doctype / f"{doctype}.{version}.schema.json"
    if direct.is_file():
        return direct
    return schema_index(root / "schemas").get(
        (lookup_name(namespace), lookup_name(doctype), version)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ExampleResult:
    """The outcome of one validation example of a schema repository.

    Attributes:
        path: the example file (``validation/<ns>/<doctype>.<v>.<name>.<pass|fail>.json``), or
            a schema file placed deeper than the repository's test allows.
        expect: ``"pass"`` or ``"fail"``, from the file name (``None`` if the name is malformed,
            and for a misplaced schema).
        schema: the schema it was checked against, or ``None`` when none was found.
        ok: whether the example behaved as its name says.
        reason: why it did not (empty when ``ok``).
        issues: the validation issues of a ``.pass.json`` that does not validate.
    """

    path: Path
    expect: Literal["pass", "fail"] | None
    schema: Path | None
    ok: bool
    reason: str = ""
    issues: tuple[ValidationIssue, ...] = ()

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'} {self.path}" + (
            f": {self.reason}" if self.reason else ""
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RepositoryReport:
    """What :func:`validate_repository` found.

    Attributes:
        root: the repository root.
        results: one :class:`ExampleResult` per validation file, and one per schema file placed
            deeper than ``schemas/<ns>/<folder>/``, sorted by path.
    """

    root: Path
    results: tuple[ExampleResult, ...]

    @property
    def passed(self) -> int:
        """How many examples behaved as their name says."""
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        """How many did not (including malformed names and missing schemas)."""
        return len(self.results) - self.passed

    @property
    def failures(self) -> list[ExampleResult]:
        """The results that are not ok."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """``True`` when nothing failed."""
        return self.failed == 0

    def summary(self) -> str:
        """``"N passed, N failed"``."""
        return f"{self.passed} passed, {self.failed} failed"


def validate_repository(root: str | Path, *, format_check: bool = False) -> RepositoryReport:
    """Run the schema repository's validation test over a tree, as its own test suite does.

    Every ``validation/<ns>/<doctype>.<v>.<name>.<pass|fail>.json`` is validated against the
    schema the repository's test pairs it with: the file under ``schemas/<ns>/`` named
    ``<doctype>.<v>.schema.json``, in whatever folder (:func:`repository_schemas`). Names are
    compared exactly, as that test does: ``my_app`` does not find ``my-app`` (the pipeline, and
    :func:`find_schema`, treat ``-`` and ``_`` alike; the repository's test does not). Validation
    uses the schema's declared draft and, by default, no format assertion. A ``.pass.json``
    must validate, a ``.fail.json`` must not. A missing schema, a schema that is itself invalid,
    a schema deeper than ``schemas/<ns>/<folder>/``, a malformed file name or a file that is
    not JSON counts as a failure with its reason.

    Args:
        root: the repository root, holding ``schemas/`` and ``validation/``.
        format_check: also assert ``format`` keywords.

    Returns:
        A :class:`RepositoryReport`; ``report.summary()`` is ``"N passed, N failed"``.

    Raises:
        ConfigurationError: ``root`` has neither ``validation/`` nor ``schemas/`` (a tree with
            schemas but no examples yet reports 0 passed, 0 failed).

    Example::

        report = pingsdk.schema.validate_repository("mozilla-pipeline-schemas")
        for failure in report.failures:
            print(failure)
        print(report.summary())
    """
    root = Path(root)
    if not (root / "validation").is_dir():
        if (root / "schemas").is_dir():
            return RepositoryReport(root=root, results=())
        raise ConfigurationError(
            f"{root}: no validation/ or schemas/ directory (is it a schema repository?)"
        )
    index = repository_schemas(root / "schemas")
    validators: dict[Path, jsonschema.protocols.Validator | str] = {}
    results = [
        _check_example(root, path, index, validators, format_check)
        for path in sorted((root / "validation").rglob("*.json"))
    ]
    results.extend(
        ExampleResult(
            path,
            None,
            path,
            ok=False,
            reason="schema too deep: the repository's test allows only "
            "schemas/<namespace>/<folder>/<file>.schema.json",
        )
        for path in misplaced_schemas(root / "schemas")
    )
    return RepositoryReport(root=root, results=tuple(sorted(results, key=lambda r: r.path)))


def _check_example(
    root: Path,
    path: Path,
    index: Mapping[tuple[str, str, str], Path],
    validators: dict[Path, jsonschema.protocols.Validator | str],
    format_check: bool,
) -> ExampleResult:
    parts = path.relative_to(root).parts
    # The repository's test: exactly validation/<ns>/<file>, and five dot-separated name parts.
    pieces = path.name.split(".")
    if len(parts) != 3 or len(pieces) != 5 or pieces[3] not in ("pass", "fail"):
        return ExampleResult(
            path,
            None,
            None,
            ok=False,
            reason="not named validation/<namespace>/<doctype>.<version>.<name>.<pass|fail>.json",
        )
    expect: Literal["pass", "fail"] = "pass" if pieces[3] == "pass" else "fail"
    namespace, doctype, version = parts[1], pieces[0], pieces[1]
    schema_path = index.get((namespace, doctype, version))
    if schema_path is None:
        wanted = f"schemas/{namespace}/{doctype}/{doctype}.{version}.schema.json"
        near = [
            p
            for (ns, dt, v), p in index.items()
            if (lookup_name(ns), lookup_name(dt), v)
            == (lookup_name(namespace), lookup_name(doctype), version)
        ]
        hint = (
            f" ({near[0].relative_to(root).as_posix()} differs only in '-'/'_'; the "
            "repository's test compares names exactly)"
            if near
            else ""
        )
        return ExampleResult(path, expect, None, ok=False, reason=f"schema missing: {wanted}{hint}")
    validator = validators.get(schema_path)
    if validator is None:
        validator = validators[schema_path] = _validator_or_reason(schema_path, format_check)
    if isinstance(validator, str):
        return ExampleResult(path, expect, schema_path, ok=False, reason=validator)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return ExampleResult(path, expect, schema_path, ok=False, reason=f"not JSON ({exc})")
    if expect == "fail":
        # Any one error is enough; enumerating all of them in large schemas is slow.
        if validator.is_valid(payload):
            return ExampleResult(
                path, expect, schema_path, ok=False, reason="validates, expected not to"
            )
        return ExampleResult(path, expect, schema_path, ok=True)
    issues = tuple(validate_payload(validator, payload))
    if issues:
        reason = f"does not validate: {issues[0]}" + (
            f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        )
        return ExampleResult(path, expect, schema_path, ok=False, reason=reason, issues=issues)
    return ExampleResult(path, expect, schema_path, ok=True)


def _validator_or_reason(path: Path, format_check: bool) -> jsonschema.protocols.Validator | str:
    import jsonschema

    try:
        schema = load_schema(path)
        validator = schema_validator(schema, format_check=format_check)
        type(validator).check_schema(schema)
    except ConfigurationError as exc:
        return f"schema unreadable: {exc}"
    except jsonschema.SchemaError as exc:
        return f"schema {path.name} is invalid under its draft: {exc.message}"
    return validator
