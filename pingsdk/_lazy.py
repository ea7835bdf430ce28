"""Names a package exports but imports only when first used (PEP 562).

``import pingsdk`` must stay cheap: the schema tooling pulls in jsonschema and more, and an
application that only sends pings never needs it. A package lists ``name -> module`` and hands
this module's :func:`attach` its globals; type checkers read the same names from imports under
``TYPE_CHECKING`` instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach", "say_module"]


def say_module(obj: object, module_name: str) -> None:
    """Make a public class report its public home (``pingsdk.schema.X``) in reprs and docs.

    Only classes defined in pingsdk's private modules (a ``_``-prefixed part, such as
    ``pingsdk._exceptions``) are renamed: a class from another library keeps saying where it
    lives, and so does one a public module already names.
    """
    if not isinstance(obj, type):
        return
    parts = obj.__module__.split(".")
    if parts[0] == "pingsdk" and any(part.startswith("_") for part in parts[1:]):
        obj.__module__ = module_name


def attach(
    package: str,
    names: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    moved: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for lazily imported ``names``.

    ``names`` maps each public name to the module (relative to ``package``) that defines it;
    every name of a module is bound on the first use of any of them, so each module is looked up
    once. ``moved`` maps names that used to live here to their new home: using one raises an
    AttributeError that says where it went.
    """
    moved = moved or {}

    def getattr_(name: str) -> object:
        module_name = names.get(name)
        if module_name is None:
            if name in moved:
                raise AttributeError(
                    f"{package}.{name} moved to {moved[name]}.{name}: import it from {moved[name]}"
                )
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{module_name}")
        for public, where in names.items():
            if where == module_name:
                # A subpackage listed under its own name is the module itself.
                obj = module if public == where else getattr(module, public)
                if where.startswith("_"):
                    say_module(obj, package)
                namespace[public] = obj
        return namespace[name]

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(names))

    return getattr_, dir_
