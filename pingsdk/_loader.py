"""Find the Ping classes named by a CLI TARGET: a module path or a ``.py`` file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path

from ._exceptions import ConfigurationError
from ._ping import Ping

__all__ = ["load_pings"]


def load_pings(target: str) -> list[type[Ping]]:
    """Import ``target`` and return its concrete Ping classes, in declaration order.

    ``target`` is a dotted module path (``myapp.pings``) or a path to a ``.py`` file. Only
    classes defined in that module are returned, not ones it imports. A ``module:Class``
    suffix selects one class.

    Raises:
        ConfigurationError: the target cannot be imported or holds no Ping class.
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
        name = f"_pingsdk_target_{resolved.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"{target}: cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        parent = str(resolved.parent)
        added = parent not in sys.path
        if added:
            sys.path.insert(0, parent)
        try:
            spec.loader.exec_module(module)
        except Exception:
            sys.modules.pop(name, None)
            raise
        finally:
            if added:
                sys.path.remove(parent)
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigurationError(
            f"{target}: cannot import ({exc}); give a module path on sys.path or a .py file"
        ) from None


def _already_imported(path: Path) -> types.ModuleType | None:
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and Path(file).resolve() == path:
            return module
    return None
