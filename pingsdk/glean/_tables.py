"""A Glean application's tables: the JSON schema and BigQuery table of each of its pings.

The pipeline builds them from the application's ``metrics.yaml`` and ``pings.yaml`` (read by
probe-scraper with glean_parser) with mozilla-schema-generator, then transpiles each schema
into a table. This module reads the same files with glean_parser, applies the generator's
rules (:mod:`._generator_rules`) and pingsdk's transpiler (:func:`pingsdk.schema.bigquery_schema`),
and lays the result out like the schema repository::

    schemas/<application id>/<ping>/<ping>.1.schema.json
    schemas/<application id>/<ping>/<ping>.1.bq
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from pingsdk._exceptions import ConfigurationError, SchemaWarning
from pingsdk.glean._generator_rules import (
    RENAMED_TYPES,
    GeneratorMetric,
    base_schema,
    column_type,
    generate_schema,
    normalize_ping_name,
)
from pingsdk.glean._payload import sanitize_application_id
from pingsdk.schema._bigquery import BigQueryResult, bigquery_schema
from pingsdk.schema._export import render_schema, write_artifacts

__all__ = [
    "PINGSDK_FILES",
    "PINGSDK_METRICS_YAML",
    "PINGSDK_PINGS_YAML",
    "GleanTable",
    "export_glean_tables",
    "glean_schemas",
    "glean_tables",
    "is_pingsdk_file",
    "parse_files",
    "table_payload",
]

PathLike = str | Path

PINGSDK_METRICS_YAML: Path = Path(str(resources.files(__package__).joinpath("metrics.yaml")))
"""pingsdk's own ``metrics.yaml``: the ``glean.error.*`` metrics it records in every ping."""

PINGSDK_PINGS_YAML: Path = Path(str(resources.files(__package__).joinpath("pings.yaml")))
"""pingsdk's own ``pings.yaml``: the ``deletion-request`` and ``events`` pings it sends itself."""

PINGSDK_FILES: tuple[Path, Path] = (PINGSDK_METRICS_YAML, PINGSDK_PINGS_YAML)
"""pingsdk's own YAML files, declared as the Glean SDK declares the same metrics and pings.

Pass them to :func:`glean_tables` (``pingsdk glean export --pingsdk-files``) with the
application's files, and register them with the pipeline as a dependency of the application,
so that the tables have columns for pingsdk's error metrics and the built-in pings have tables.
"""

_INSTALL_HINT = "pip install 'pingsdk[glean]'"


@dataclasses.dataclass(frozen=True, slots=True)
class GleanTable:
    """The schema-repository files of one ping of a Glean application.

    Attributes:
        application_id: the sanitised application id (the document namespace).
        ping: the ping name (the document type).
        schema: the JSON schema the generator builds: ``glean.1`` (``glean-min.1`` for pings
            without info sections) with every metric sent in the ping injected under
            ``metrics.<type>.<category.name>``, and the ping's ``mozPipelineMetadata``.
        bigquery: the table the pipeline creates from it (ingestion metadata columns included),
            with the fields the transpiler leaves out.
    """

    application_id: str
    ping: str
    schema: dict[str, Any]
    bigquery: BigQueryResult

    @property
    def schema_path(self) -> PurePosixPath:
        """``schemas/<application id>/<ping>/<ping>.1.schema.json``."""
        # The generator writes snake_case ping names in kebab-case (bug 1601270); glean_parser
        # accepts only kebab-case names today, so this changes nothing for new pings.
        name = self.ping.replace("_", "-")
        return PurePosixPath("schemas", self.application_id, name, f"{name}.1.schema.json")

    @property
    def bq_path(self) -> PurePosixPath:
        """``schemas/<application id>/<ping>/<ping>.1.bq``."""
        return self.schema_path.with_name(self.schema_path.name.replace(".schema.json", ".bq"))

    def render_schema(self) -> str:
        """The ``.schema.json`` text, rendered like every schema pingsdk writes."""
        return render_schema(self.schema)

    def render_bq(self) -> str:
        """The ``.bq`` text, formatted like the schema repository's."""
        return self.bigquery.render()


# glean_parser subclasses jsonschema's deprecated RefResolver; the DeprecationWarning is not
# the user's to act on (and pytest setups that turn warnings into errors would fail on it).
_GLEAN_PARSER_DEPRECATION = r"jsonschema\.RefResolver is deprecated"


def _glean_parser() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_GLEAN_PARSER_DEPRECATION, category=DeprecationWarning
            )
            return importlib.import_module("glean_parser.parser")
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "glean_parser":
            raise
        raise ConfigurationError(
            f"reading metrics.yaml and pings.yaml needs glean_parser: {_INSTALL_HINT}"
        ) from exc


@functools.lru_cache(maxsize=1)
def _bundled() -> dict[Path, bytes]:
    """pingsdk's own YAML files, which may use the ``glean`` names reserved for Glean."""
    return {path.resolve(): path.read_bytes() for path in PINGSDK_FILES}


def is_pingsdk_file(path: PathLike) -> bool:
    """Whether ``path`` is one of pingsdk's own YAML files, or a copy of one."""
    path = Path(path)
    bundled = _bundled()
    if not path.is_file():
        return False
    # A copy (say, vendored to register it with the pipeline) is still pingsdk's file.
    return path.resolve() in bundled or path.read_bytes() in bundled.values()


def _parse(paths: Sequence[Path], *, allow_reserved: bool) -> Any:
    parser = _glean_parser()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=_GLEAN_PARSER_DEPRECATION, category=DeprecationWarning
        )
        result = parser.parse_objects(
            list(paths), {"allow_reserved": allow_reserved, "do_not_disable_expired": True}
        )
        errors = [str(error).strip() for error in result]
    if errors:
        listed = "\n".join(f"  {error}" for error in errors)
        raise ConfigurationError(f"glean_parser found {len(errors)} problem(s):\n{listed}")
    return result.value


def parse_files(paths: Sequence[Path], *, allow_reserved: bool = False) -> Any:
    """Every object of the files, parsed and validated by glean_parser (its object tree).

    pingsdk's own files (:data:`PINGSDK_FILES`, or copies) may use names reserved for Glean;
    others only with ``allow_reserved``.

    Raises:
        ConfigurationError: a missing file, any problem glean_parser reports (its messages,
            with file and line), or glean_parser not installed.
    """
    for path in paths:
        if not path.is_file():
            raise ConfigurationError(f"{path}: no such file")
    if allow_reserved:
        return _parse(paths, allow_reserved=True)
    own = [path for path in paths if not is_pingsdk_file(path)]
    if len(own) == len(paths):
        return _parse(paths, allow_reserved=False)
    # The application's files must not use reserved names; pingsdk's may, as Glean's own
    # files may. Parsing everything together still catches a name defined twice.
    if own:
        _parse(own, allow_reserved=False)
    return _parse(paths, allow_reserved=True)


def _definitions(
    files: Sequence[Path], *, allow_reserved: bool
) -> tuple[list[GeneratorMetric], dict[str, bool]]:
    """The metrics (as probe-scraper stores them) and pings (name -> info sections)."""
    tree = parse_files(files, allow_reserved=allow_reserved)
    metrics: list[GeneratorMetric] = []
    pings: dict[str, bool] = {}
    for category, objects in tree.items():
        if category == "tags":
            continue
        for name, obj in objects.items():
            if category == "pings":
                pings[normalize_ping_name(name)] = bool(
                    obj.metadata.get("include_info_sections", True)
                )
                continue
            metrics.append(
                GeneratorMetric(
                    name=obj.identifier(),
                    type=obj.type,
                    description=obj.description,
                    send_in_pings=frozenset(normalize_ping_name(p) for p in obj.send_in_pings),
                )
            )
    return metrics, pings


def _warn_unplaced(metrics: Sequence[GeneratorMetric], pings: Mapping[str, bool]) -> None:
    """Warn about metrics that no table will have a column for."""
    glean_types = base_schema(True)
    for metric in sorted(metrics, key=lambda m: m.name):
        if metric.type != "event" and column_type(metric.type, glean_types) is None:
            warnings.warn(
                f"metric {metric.name}: the pipeline's schema generator makes no column for "
                f"{metric.type} metrics; in BigQuery its values are only in "
                "additional_properties",
                SchemaWarning,
                stacklevel=4,
            )
            continue
        if not any(metric.sent_in(ping, pings) for ping in pings):
            sent = ", ".join(sorted(metric.send_in_pings))
            warnings.warn(
                f"metric {metric.name} is sent in {sent}, which none of the pings files "
                "declares: no table has a column for it (pass the pings.yaml that declares it)",
                SchemaWarning,
                stacklevel=4,
            )


def glean_tables(
    metrics_files: Iterable[PathLike],
    pings_files: Iterable[PathLike],
    app_id: str,
    *,
    allow_reserved: bool = False,
) -> dict[str, GleanTable]:
    """The JSON schema and BigQuery table of every ping of a Glean application.

    The tables are built from exactly the files given, as the pipeline builds them from
    exactly the metrics its registry knows: pass every ``metrics.yaml`` and ``pings.yaml`` of
    the application and of the libraries it registers as dependencies, :data:`PINGSDK_FILES`
    included (pingsdk records its ``glean.error.*`` metrics in every ping and sends the
    ``deletion-request`` and ``events`` pings). One table per ping the pings files declare; a
    metric sent in ``all-pings`` is in each.

    Args:
        metrics_files: ``metrics.yaml`` files.
        pings_files: ``pings.yaml`` files. glean_parser tells the kinds apart by their
            ``$schema``, so a file in the wrong list is still read correctly.
        app_id: the application id given to Glean (``org.example.my-service``); sanitised as
            Glean does for the namespace (``org-example-my-service``).
        allow_reserved: accept names reserved for Glean (the ``glean`` categories, the
            ``metrics``/``events``/``baseline``/``deletion-request`` pings) in every file, to
            read the Glean SDK's own ``metrics.yaml``/``pings.yaml``. pingsdk's own files are
            always accepted.

    Returns:
        Ping name -> :class:`GleanTable`, sorted by name.

    Raises:
        ConfigurationError: glean_parser is not installed, a file is missing or invalid
            (glean_parser's messages), no ping is declared, or the application id is unusable.

    Warns:
        SchemaWarning: for a metric no table has a column for (a type the generator ignores,
            or sent only in pings the files do not declare).
    """
    application_id = sanitize_application_id(app_id)
    if not any(char.isalnum() for char in application_id):
        raise ConfigurationError(
            f"application id {app_id!r} has no ASCII letter or digit; use the id the "
            "application gives Glean, e.g. 'org.example.my-service'"
        )
    files = [Path(path) for path in (*metrics_files, *pings_files)]
    if not files:
        raise ConfigurationError("no metrics.yaml or pings.yaml given")
    metrics, pings = _definitions(files, allow_reserved=allow_reserved)
    if not pings:
        raise ConfigurationError(
            "the files declare no ping, so there is no table to build: pass the "
            "application's pings.yaml"
        )
    _warn_unplaced(metrics, pings)
    tables: dict[str, GleanTable] = {}
    for ping in sorted(pings):
        schema = generate_schema(
            metrics,
            application_id=application_id,
            ping=ping,
            all_pings=pings.keys(),
            include_info_sections=pings[ping],
        )
        tables[ping] = GleanTable(
            application_id=application_id,
            ping=ping,
            schema=schema,
            bigquery=bigquery_schema(schema, namespace=application_id),
        )
    return tables


def glean_schemas(
    metrics_files: Iterable[PathLike],
    pings_files: Iterable[PathLike],
    app_id: str,
    *,
    allow_reserved: bool = False,
) -> dict[str, dict[str, Any]]:
    """Ping name -> the JSON schema the generator builds (see :func:`glean_tables`)."""
    tables = glean_tables(metrics_files, pings_files, app_id, allow_reserved=allow_reserved)
    return {ping: table.schema for ping, table in tables.items()}


def export_glean_tables(
    metrics_files: Iterable[PathLike],
    pings_files: Iterable[PathLike],
    app_id: str,
    out_dir: PathLike,
    *,
    allow_reserved: bool = False,
) -> list[Path]:
    """Write each ping's ``.schema.json`` and ``.bq`` under ``out_dir`` (see :func:`glean_tables`).

    Everything is built before anything is written; unchanged files are not rewritten.

    Returns:
        The files, schema then table for each ping in name order.
    """
    tables = glean_tables(metrics_files, pings_files, app_id, allow_reserved=allow_reserved)
    artifacts: dict[PurePosixPath, str] = {}
    for table in tables.values():
        artifacts[table.schema_path] = table.render_schema()
        artifacts[table.bq_path] = table.render_bq()
    return write_artifacts(artifacts, out_dir)


def table_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Glean payload as the pipeline loads it into the tables :func:`glean_tables` builds.

    Glean sends ``url``, ``text``, ``jwe`` and ``labeled_rate`` metrics under those names; the
    generator gives them columns under ``url2``, ``text2``, ``jwe2`` and ``labeled_rate2``, and
    the pipeline moves them there before loading (see
    :data:`pingsdk.glean._generator_rules.RENAMED_TYPES`). Validate this, not the payload as
    sent, against a :attr:`GleanTable.schema`. The payload itself is not changed.
    """
    out = copy.deepcopy(dict(payload))
    metrics = out.get("metrics")
    if isinstance(metrics, dict):
        for name, renamed in RENAMED_TYPES.items():
            if isinstance(metrics.get(name), dict):
                metrics[renamed] = {**metrics.get(renamed, {}), **metrics.pop(name)}
    return out
