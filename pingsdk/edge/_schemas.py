"""Schema lookup in a schema-repository tree, one compiled validator per schema file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jsonschema.protocols

from pingsdk._exceptions import ConfigurationError
from pingsdk._naming import lookup_name
from pingsdk.schema._validation import (
    ValidationIssue,
    load_schema,
    schema_index,
    schema_validator,
    validate_payload,
)

__all__ = ["GLEAN", "GLEAN_MIN", "SchemaStore", "glean_shape"]

Key = tuple[str, str, int]

# The generic Glean schemas, by the name the verdict shows, and where a schema repository
# keeps them: glean-min lives in the glean/glean folder, which is not named after it.
GLEAN = "glean.1"
GLEAN_MIN = "glean-min.1"
_GLEAN_FILES: dict[str, tuple[Key, str]] = {
    GLEAN: (("glean", "glean", 1), "glean/glean/glean.1.schema.json"),
    GLEAN_MIN: (("glean", "glean_min", 1), "glean/glean/glean-min.1.schema.json"),
}
_GLEAN_SCHEMA_URI = "moz://mozilla.org/schemas/glean/ping/1"
# pingsdk.glean ships the pipeline's glean.1 and glean-min.1 (read here without importing it).
_PACKAGED = Path(__file__).resolve().parents[1] / "glean" / "data"
_INFO_SECTIONS = ("client_info", "ping_info")


def glean_shape(version: int | None, payload: dict[str, Any], agent: str | None) -> str | None:
    """Which generic Glean schema a ping is for (:data:`GLEAN`, :data:`GLEAN_MIN`), or ``None``.

    Glean sends ``/submit/<app-id>/<ping>/1/<docId>``; its payload has the ``client_info`` and
    ``ping_info`` sections unless the ping is declared without them
    (``metadata.include_info_sections: false``), for which the pipeline's schema generator
    uses ``glean-min.1`` instead of ``glean.1``. A payload without the sections is taken for a
    Glean ping when the client says it is Glean (``X-Telemetry-Agent: Glean/...``), the payload
    names the Glean ``$schema``, or it holds nothing but ``metrics`` and ``events``.
    """
    if version != 1:
        return None
    if any(section in payload for section in _INFO_SECTIONS):
        return GLEAN
    rest = set(payload) - {"$schema"}
    if (
        (agent or "").startswith("Glean/")
        or payload.get("$schema") == _GLEAN_SCHEMA_URI
        or (rest and rest <= {"metrics", "events"})
    ):
        return GLEAN_MIN
    return None


class SchemaStore:
    """Schemas found under ``<root>/schemas/<ns>/<doctype>/<doctype>.<v>.schema.json``.

    ``root`` may be the repository root or its ``schemas`` folder. Files are indexed at once
    and compiled on first use (once each, thread-safe). Namespaces and doctypes compare after
    ``-`` becomes ``_``, as in the pipeline.

    Raises:
        ConfigurationError: ``root`` is not a folder or holds no schema file.
    """

    def __init__(self, root: str | Path) -> None:
        base = Path(root)
        if not base.is_dir():
            raise ConfigurationError(f"{root}: not a folder (give a schema-repository tree)")
        if (base / "schemas").is_dir():
            base = base / "schemas"
        self.root = base
        self._files: dict[Key, Path] = schema_index(base)
        self._doctypes = {(ns, doctype) for ns, doctype, _ in self._files}
        self._namespaces = {ns for ns, _, _ in self._files}
        if not self._files:
            raise ConfigurationError(
                f"{root}: no <namespace>/<doctype>/<doctype>.<version>.schema.json files"
            )
        self._validators: dict[Key, jsonschema.protocols.Validator] = {}
        self._lock = threading.Lock()
        # Where the generic Glean schemas are: the tree's own (from the index, else by their
        # known place, as the index may skip files not named after their folder), else the
        # copies pingsdk ships for its Glean tables.
        self._glean: dict[str, Path] = {}
        for name, (key, relative) in _GLEAN_FILES.items():
            for found in (self._files.get(key), base / relative, _PACKAGED / f"{name}.schema.json"):
                if found is not None and found.is_file():
                    self._glean[name] = found
                    break

    @property
    def generic(self) -> tuple[str, ...]:
        """The generic Glean schemas available (:data:`GLEAN`, :data:`GLEAN_MIN`): the tree's
        own, else the copies shipped with pingsdk."""
        return tuple(sorted(self._glean))

    def __len__(self) -> int:
        return len(self._files)

    def missing(self, namespace: str, doctype: str, version: int | None) -> str | None:
        """Which part is unknown (``"namespace"``, ``"doctype"``, ``"version"``), or ``None``.

        A ``None`` version only checks namespace and doctype (legacy URLs carry no version).
        """
        ns, dt = lookup_name(namespace), lookup_name(doctype)
        if ns not in self._namespaces:
            return "namespace"
        if (ns, dt) not in self._doctypes:
            return "doctype"
        if version is not None and (ns, dt, version) not in self._files:
            return "version"
        return None

    def single_version(self, namespace: str, doctype: str) -> int | None:
        """The version of a doctype that has exactly one schema, else ``None``."""
        ns, dt = lookup_name(namespace), lookup_name(doctype)
        versions = [v for (n, d, v) in self._files if (n, d) == (ns, dt)]
        return versions[0] if len(versions) == 1 else None

    def validator(
        self, namespace: str, doctype: str, version: int
    ) -> jsonschema.protocols.Validator:
        """The compiled validator for a known schema (KeyError when unknown)."""
        key = (lookup_name(namespace), lookup_name(doctype), version)
        return self._compiled(key, self._files[key])

    def _compiled(self, key: Key, path: Path) -> jsonschema.protocols.Validator:
        found = self._validators.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                found = schema_validator(load_schema(path))
                self._validators[key] = found
        return found

    def validate_generic(self, name: str, payload: Any) -> list[ValidationIssue]:
        """Every issue of ``payload`` against a generic Glean schema (KeyError when the tree
        does not hold it; see :attr:`generic`)."""
        key = _GLEAN_FILES[name][0]
        return validate_payload(self._compiled(key, self._glean[name]), payload)

    def validate(
        self, namespace: str, doctype: str, version: int, payload: Any
    ) -> list[ValidationIssue]:
        """Every issue of ``payload`` against its schema (KeyError when the schema is unknown)."""
        return validate_payload(self.validator(namespace, doctype, version), payload)
