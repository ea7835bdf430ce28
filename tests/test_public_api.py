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
