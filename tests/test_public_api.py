"""The public surface: __all__ is sorted, complete and documented."""

from __future__ import annotations

import inspect

import pingsdk
import pingsdk.edge
import pingsdk.testing


def test_all_sorted_and_present() -> None:
    for module in (pingsdk, pingsdk.edge, pingsdk.testing):
        names = list(module.__all__)
        assert names == sorted(names), f"{module.__name__}.__all__ is not sorted"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ but missing"


def test_every_public_name_documented() -> None:
    for module in (pingsdk, pingsdk.edge, pingsdk.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"


def test_public_classes_say_pingsdk() -> None:
    for name in pingsdk.__all__:
        obj = getattr(pingsdk, name)
        if inspect.isclass(obj):
            assert obj.__module__ == "pingsdk", name


def test_py_typed_shipped() -> None:
    from pathlib import Path

    assert (Path(pingsdk.__file__).parent / "py.typed").is_file()


def test_only_a_packages_own_classes_are_renamed() -> None:
    # say_module (used by pingsdk, pingsdk.schema, pingsdk.monitoring, pingsdk.glean) renames
    # the classes of the package's private modules, never a class defined somewhere else.
    from pingsdk._lazy import say_module

    class Elsewhere:
        """Defined in this test module."""

    say_module(Elsewhere, "pingsdk")
    assert Elsewhere.__module__ == __name__
    for package in (pingsdk.schema, pingsdk.monitoring, pingsdk.glean):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and obj.__module__.startswith("pingsdk"):
                assert obj.__module__ in ("pingsdk", package.__name__), name
