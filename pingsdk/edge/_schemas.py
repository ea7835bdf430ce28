"""Schema lookup in a schema-repository tree, one compiled validator per schema file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jsonschema.protocols

from .._exceptions import ConfigurationError
from .._validation import (
    ValidationIssue,
    load_schema,
    schema_index,
    schema_validator,
    validate_payload,
)
from ._rules import normalise

__all__ = ["SchemaStore"]

Key = tuple[str, str, int]


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

    def __len__(self) -> int:
        return len(self._files)

    def missing(self, namespace: str, doctype: str, version: int | None) -> str | None:
        """Which part is unknown (``"namespace"``, ``"doctype"``, ``"version"``), or ``None``.

        A ``None`` version only checks namespace and doctype (legacy URLs carry no version).
        """
        ns, dt = normalise(namespace), normalise(doctype)
        if ns not in self._namespaces:
            return "namespace"
        if (ns, dt) not in self._doctypes:
            return "doctype"
        if version is not None and (ns, dt, version) not in self._files:
            return "version"
        return None

    def single_version(self, namespace: str, doctype: str) -> int | None:
        """The version of a doctype that has exactly one schema, else ``None``."""
        ns, dt = normalise(namespace), normalise(doctype)
        versions = [v for (n, d, v) in self._files if (n, d) == (ns, dt)]
        return versions[0] if len(versions) == 1 else None

    def validator(
        self, namespace: str, doctype: str, version: int
    ) -> jsonschema.protocols.Validator:
        """The compiled validator for a known schema (KeyError when unknown)."""
        key = (normalise(namespace), normalise(doctype), version)
        found = self._validators.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                found = schema_validator(load_schema(self._files[key]))
                self._validators[key] = found
        return found

    def validate(
        self, namespace: str, doctype: str, version: int, payload: Any
    ) -> list[ValidationIssue]:
        """Every issue of ``payload`` against its schema (KeyError when the schema is unknown)."""
        return validate_payload(self.validator(namespace, doctype, version), payload)
