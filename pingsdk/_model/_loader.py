"""Find the Ping classes named by a CLI TARGET: a module path or a ``.py`` file."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

from pingsdk._exceptions import ConfigurationError
from pingsdk._model._ping import Ping

__all__ = ["load_pings", "real_module_name"]

# Modules loaded from a .py file get a private name (see _import); real_module_name maps it back.
_FILE_MODULE_PREFIX = "_pingsdk_target_"


def load_pings(target: str) -> list[type[Ping]]:
    """Import ``target`` and return its concrete Ping classes, in declaration order.

    ``target`` is a dotted module path (``myapp.pings``) or a path to a ``.py`` file. A module
    path is imported as ``python -m`` would: the current directory comes first on ``sys.path``
    (for the import only). A ``.py`` file is imported on its own, with its directory on
    ``sys.path``; one that uses relative imports belongs to a package and must be named by its
    module path instead. Only classes defined in that module are returned, not ones it
    imports. A ``module:Class`` suffix selects one class.

    Raises:
        ConfigurationError: the target cannot be imported, is a ``.py`` file with relative
            imports, or holds no Ping class.
    """
    target, _, only = target.partition(":") if not Path(target).exists() else (target, "", "")
    module = _import(target)
    found = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Ping)
        and obj is not Ping
        and obj.__module__ == module.__name__
        and not obj.is_abstract()
        and (not only or obj.__qualname__ == only)
    ]
    if not found:
        what = f"class {only!r}" if only else "Ping subclass"
        raise ConfigurationError(f"{target}: no {what} found (is it a concrete pingsdk.Ping?)")
    return sorted(found, key=lambda c: inspect.getsourcelines(c)[1])


def _import(target: str) -> types.ModuleType:
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise ConfigurationError(f"{target}: no such file")
        resolved = path.resolve()
        loaded = _already_imported(resolved)
        if loaded is not None:
            # Importing the file again under another name would declare its pings twice.
            return loaded
        # A stable module name per file, so loading the same file twice is a reload, not a
        # second declaration of the same pings.
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
        name = f"{_FILE_MODULE_PREFIX}{resolved.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"{target}: cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with _first_on_path(str(resolved.parent)):
                spec.loader.exec_module(module)
        except ImportError:
            sys.modules.pop(name, None)
            if _has_relative_import(resolved):
                dotted = _dotted_name(resolved)
                raise ConfigurationError(
                    f"{target}: has relative imports, so it is part of a package; pass the "
                    f"module name instead of the file: {dotted} (run from the directory that "
                    f"holds {dotted.partition('.')[0]}/)"
                ) from None
            raise
        except Exception:
            sys.modules.pop(name, None)
            raise
        return module
    try:
        with _first_on_path(os.getcwd()):
            return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigurationError(
            f"{target}: cannot import ({exc}); give a module path importable from the current "
            "directory or sys.path, or a .py file"
        ) from None


def real_module_name(module_name: str) -> str:
    """The name a user knows a module by: a ``.py`` target's dotted name, not its private alias.

    A module :func:`load_pings` imported from a file is registered under a private name that
    cannot collide with another module; this returns the name ``python -m`` would give the file
    (its stem, prefixed by the packages that hold it). Any other name is returned unchanged.
    """
    if not module_name.startswith(_FILE_MODULE_PREFIX):
        return module_name
    file = getattr(sys.modules.get(module_name), "__file__", None)
    return _dotted_name(Path(file)) if isinstance(file, str) else module_name


@contextlib.contextmanager
def _first_on_path(directory: str) -> Iterator[None]:
    # Put for the import only: a lasting sys.path entry would leak into the caller's process.
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(directory)


def _dotted_name(path: Path) -> str:
    """``a/b/c.py`` is ``b.c`` when ``b`` holds an ``__init__.py`` and ``a`` does not."""
    parts = [path.stem] if path.stem != "__init__" else []
    parent = path.resolve().parent
    while (parent / "__init__.py").is_file() and parent.parent != parent:
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts)


def _has_relative_import(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree))


def _already_imported(path: Path) -> types.ModuleType | None:
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and Path(file).resolve() == path:
            return module
    return None
