"""Export Ping classes into a schema-repository tree: schemas and validation examples.

The layout is the schema repository's (``docs/exporting.md``)::

    schemas/<ns>/<doctype>/<doctype>.<v>.schema.json
    validation/<ns>/<doctype>.<v>.<name>.pass.json
    validation/<ns>/<doctype>.<v>.<name>.fail.json

Export owns the validation files of the classes it exports: a file of that class's
``<doctype>.<v>.<name>.<pass|fail>.json`` naming whose example is no longer declared, and whose
text is in export's own format, is removed (:func:`export_repository`).

Each file comes from a *writer*: a function ``(ping class, exported schema) -> artifacts``.
Adding another artifact per schema (say a BigQuery ``.bq`` file) is one more entry in
:data:`ARTIFACT_WRITERS`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from pingsdk._exceptions import SchemaExportError, SchemaWarning
from pingsdk._model._keywords import PingInfo
from pingsdk._model._ping import Ping
from pingsdk.schema._bigquery import bigquery_schema
from pingsdk.schema._generator import model_schema, sort_keys
from pingsdk.schema._validation import schema_validator, validate_payload

__all__ = [
    "ARTIFACT_WRITERS",
    "Artifact",
    "ArtifactWriter",
    "ExportedFiles",
    "export_repository",
    "export_schema",
    "pipeline_metadata",
    "render_schema",
    "schema_path",
    "validation_path",
    "write_artifacts",
]

Artifact = tuple[PurePosixPath, str]
"""A file to write: its path relative to the repository root, and its text."""

ArtifactWriter = Callable[[type[Ping], Mapping[str, Any]], list[Artifact]]
"""Makes the files for one ping from its class and its exported schema."""


def export_schema(ping_cls: type[Ping], *, draft: str = "draft-04") -> dict[str, Any]:
    """The complete schema-repository schema of a ping, as a dict.

    It is the JSON Schema of what :meth:`Ping.to_json_bytes` sends (see ``schema._generator`` for
    the dialect rules), with the root ``description`` taken from ``review.questions`` (the class
    docstring by default) and a ``mozPipelineMetadata`` block (:func:`pipeline_metadata`).

    Args:
        ping_cls: a concrete Ping class.
        draft: ``"draft-04"`` (default) or ``"draft-06"``.

    Returns:
        The schema, keys sorted.

    Raises:
        SchemaExportError: a field the draft cannot express (the message names the class and the
            dotted field path), or an unknown draft.
        PingDefinitionError: ``ping_cls`` is an abstract base without an identity.

    Example::

        schema = pingsdk.schema.export_schema(SearchCounts)
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    """
    info = ping_cls.ping_info()
    schema = model_schema(ping_cls, draft=draft)
    schema.pop("description", None)
    if info.review.questions:
        schema["description"] = info.review.questions
    schema["mozPipelineMetadata"] = pipeline_metadata(info)
    return dict(sort_keys(schema))


def pipeline_metadata(info: PingInfo) -> dict[str, Any]:
    """The ``mozPipelineMetadata`` block for a ping.

    The repository's defaults (``bq_dataset_family`` = namespace with ``-`` -> ``_``,
    ``bq_table`` = ``<doctype with - -> _>_v<version>``, ``bq_metadata_format`` = ``structured``,
    or ``telemetry`` for legacy telemetry pings), an ``expiration_policy`` from
    ``review.expires`` (``collect_through_date``) and ``review.delete_after_days``, then the
    class's ``pipeline_metadata`` keyword on top.
    """
    metadata: dict[str, Any] = {
        "bq_dataset_family": info.namespace.replace("-", "_"),
        "bq_table": f"{info.doctype.replace('-', '_')}_v{info.version}",
        "bq_metadata_format": "telemetry" if info.legacy_telemetry else "structured",
    }
    policy: dict[str, Any] = {}
    if info.review.expires is not None:
        policy["collect_through_date"] = info.review.expires.isoformat()
    if info.review.delete_after_days is not None:
        policy["delete_after_days"] = info.review.delete_after_days
    if policy:
        metadata["expiration_policy"] = policy
    metadata.update(info.pipeline_metadata)
    return metadata


def render_schema(schema: Mapping[str, Any]) -> str:
    """Render a schema (or any JSON document) the way the repository stores it.

    Sorted keys, 2-space indent, ``ensure_ascii=False``, a trailing newline: re-rendering an
    unchanged schema gives identical text.
    """
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def schema_path(info: PingInfo) -> PurePosixPath:
    """``schemas/<ns>/<doctype>/<doctype>.<v>.schema.json`` for a ping (``MyPing.ping_info()``)."""
    return PurePosixPath(
        "schemas", info.namespace, info.doctype, f"{info.doctype}.{info.version}.schema.json"
    )


def validation_path(info: PingInfo, name: str, expect: str) -> PurePosixPath:
    """``validation/<ns>/<doctype>.<v>.<name>.<pass|fail>.json``."""
    return PurePosixPath(
        "validation", info.namespace, f"{info.doctype}.{info.version}.{name}.{expect}.json"
    )


def _schema_artifacts(ping_cls: type[Ping], schema: Mapping[str, Any]) -> list[Artifact]:
    return [(schema_path(ping_cls.ping_info()), render_schema(schema))]


def _undocumented(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Dotted paths of properties without a ``description`` (nested objects included)."""
    found: list[str] = []
    for name, prop in sorted(schema.get("properties", {}).items()):
        where = f"{path}{name}"
        if not isinstance(prop, Mapping):
            continue
        if not prop.get("description"):
            found.append(where)
        found.extend(_undocumented(prop, where + "."))
        items = prop.get("items")
        if isinstance(items, Mapping):
            found.extend(_undocumented(items, where + "[]."))
        values = prop.get("additionalProperties")
        if isinstance(values, Mapping):
            found.extend(_undocumented(values, where + "{}."))
    return found


def _bigquery_artifacts(ping_cls: type[Ping], schema: Mapping[str, Any]) -> list[Artifact]:
    """The table schema the pipeline will create, as the repository's ``.bq`` file."""
    info = ping_cls.ping_info()
    # The repository's review checklist wants every field described, and the description
    # becomes the column's description in BigQuery.
    missing = _undocumented(schema)
    if missing:
        warnings.warn(
            f"{ping_cls.__qualname__}: no description for {', '.join(missing)}; add "
            "Field(description=...) (the schema repository's review asks for one per field)",
            SchemaWarning,
            stacklevel=4,
        )
    result = bigquery_schema(schema, namespace=info.namespace)
    for dropped in result.dropped:
        warnings.warn(
            f"{ping_cls.__qualname__}: {dropped.path or '(document)'} will not become a BigQuery "
            f"column ({dropped.reason}); use a type the transpiler can map",
            SchemaWarning,
            stacklevel=4,
        )
    bq = schema_path(info).with_name(f"{info.doctype}.{info.version}.bq")
    return [(bq, result.render())]


def _example_artifacts(ping_cls: type[Ping], schema: Mapping[str, Any]) -> list[Artifact]:
    info = ping_cls.ping_info()
    name = ping_cls.__qualname__
    strict = schema_validator(schema, format_check=True)
    lenient = schema_validator(schema)
    out: list[Artifact] = []
    for key, example in sorted(info.examples.items()):
        # Written as what would be sent: the validated instance's serialization.
        payload = ping_cls.model_validate(example).to_payload()
        issues = validate_payload(strict, payload)
        if issues:
            raise SchemaExportError(
                f"{name}: examples[{key!r}] serializes to a payload that does not validate "
                f"against the exported schema ({len(issues)} issue(s), first at "
                f"{issues[0].path}: {issues[0].keyword}); this is a pingsdk bug or a "
                "serializer that changes the type, please report it",
                ping=name,
            )
        out.append((validation_path(info, key, "pass"), render_schema(payload)))
    for key, example in sorted(info.fail_examples.items()):
        if not validate_payload(lenient, example):
            raise SchemaExportError(
                f"{name}: fail_examples[{key!r}] validates against the exported schema; a "
                ".fail.json must not (make it break a rule the schema states)",
                ping=name,
            )
        out.append((validation_path(info, key, "fail"), render_schema(example)))
    return out


ARTIFACT_WRITERS: list[ArtifactWriter] = [
    _schema_artifacts,
    _bigquery_artifacts,
    _example_artifacts,
]
"""The per-schema writers :func:`export_repository` runs, in order."""


class ExportedFiles(list[Path]):
    """What :func:`export_repository` returns: the files of the export (a list, in order), and
    the validation files it removed because the class no longer declares their example.

    Attributes:
        removed: stale validation files deleted by this export.
        kept: files named like an example of an exported class that the class does not declare,
            left in place because pingsdk did not write them (their text is not in pingsdk's
            output format); each was also warned about with :class:`SchemaWarning`.

    Added in 0.2.
    """

    def __init__(
        self, written: Iterable[Path], removed: Iterable[Path] = (), kept: Iterable[Path] = ()
    ) -> None:
        super().__init__(written)
        self.removed: list[Path] = list(removed)
        self.kept: list[Path] = list(kept)


def export_repository(
    classes: Iterable[type[Ping]], out_dir: str | Path, *, draft: str = "draft-04"
) -> ExportedFiles:
    """Write the schema-repository files of every ping in ``classes`` under ``out_dir``.

    For each ping: its schema (:func:`schema_path`) and one validation file per declared
    example (``.pass.json`` holds the serialized payload of the validated example instance;
    ``.fail.json`` holds the declared payload as given). Everything is generated and checked
    before anything is written, so a failing class leaves the tree untouched. Files whose
    content is unchanged are not rewritten.

    Validation files of examples a class no longer declares are removed, so the repository
    stops testing payloads the model no longer describes. Export only removes files it wrote:
    a file in ``validation/<namespace>/`` named ``<doctype>.<version>.<name>.<pass|fail>.json``
    for that class's own namespace, doctype and version, whose text is exactly what export
    writes (sorted keys, 2-space indent, trailing newline). Any other file, such a file written
    by hand in another format included, is kept and reported with a :class:`SchemaWarning`.

    Args:
        classes: concrete Ping classes (e.g. ``pingsdk._model._loader.load_pings(...)``).
        out_dir: the repository root; created if missing.
        draft: ``"draft-04"`` (default) or ``"draft-06"``.

    Returns:
        Every file of the export, in order (schema first, then its examples), whether or not
        its content changed, as a list; ``.removed`` lists the stale files deleted and
        ``.kept`` the stale-looking files left alone.

    Raises:
        SchemaExportError: a field the draft cannot express, a pass example that does not
            validate, a fail example that does, or two classes with the same identity.
    """
    artifacts: dict[PurePosixPath, str] = {}
    owners: dict[tuple[str, str, int], str] = {}
    exported: list[tuple[type[Ping], PingInfo]] = []
    for cls in classes:
        info = cls.ping_info()
        exported.append((cls, info))
        other = owners.setdefault(info.key, cls.__qualname__)
        if other != cls.__qualname__:
            raise SchemaExportError(
                f"{cls.__qualname__} and {other} both declare namespace={info.namespace!r} "
                f"doctype={info.doctype!r} version={info.version}; export one of them",
                ping=cls.__qualname__,
            )
        schema = export_schema(cls, draft=draft)
        for writer in ARTIFACT_WRITERS:
            for path, text in writer(cls, schema):
                artifacts[path] = text
    written = write_artifacts(artifacts, out_dir)
    removed, kept = _prune_examples(Path(out_dir), exported, set(artifacts))
    return ExportedFiles(written, removed, kept)


def write_artifacts(artifacts: Mapping[PurePosixPath, str], out_dir: str | Path) -> list[Path]:
    """Write files (relative path -> text) under ``out_dir``; unchanged files are left alone.

    Returns:
        Every file, in the mapping's order, whether or not its content changed.
    """
    root = Path(out_dir)
    written: list[Path] = []
    for relative, text in artifacts.items():
        target = root.joinpath(*relative.parts)
        data = text.encode("utf-8")
        if not (target.is_file() and target.read_bytes() == data):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        written.append(target)
    return written


def _prune_examples(
    root: Path, exported: list[tuple[type[Ping], PingInfo]], produced: set[PurePosixPath]
) -> tuple[list[Path], list[Path]]:
    """Delete the validation files of examples the exported classes no longer declare."""
    removed: list[Path] = []
    kept: list[Path] = []
    for cls, info in exported:
        folder = root / "validation" / info.namespace
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{info.doctype}.{info.version}.*.json")):
            pieces = path.name.split(".")
            if len(pieces) != 5 or pieces[3] not in ("pass", "fail"):
                continue
            if PurePosixPath("validation", info.namespace, path.name) in produced:
                continue
            if _written_by_export(path):
                path.unlink()
                removed.append(path)
            else:
                kept.append(path)
                warnings.warn(
                    f"{cls.__qualname__}: {path} is named like one of its examples but it "
                    f"declares no example {pieces[2]!r} ({pieces[3]}); left in place because "
                    "pingsdk did not write it (delete it, or declare the example)",
                    SchemaWarning,
                    stacklevel=3,
                )
    return removed, kept


def _written_by_export(path: Path) -> bool:
    """Whether the file's text is exactly what export writes for its JSON content."""
    try:
        text = path.read_bytes().decode("utf-8")
        return render_schema(json.loads(text)) == text
    except (UnicodeDecodeError, json.JSONDecodeError, OSError):
        return False
