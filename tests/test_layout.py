"""The layout's limits (#9): small rooms, one place for each decision, a short front door.

No module over 600 lines, no function over 80 (a function that only returns a data table is
exempt), at most 30 names in ``pingsdk.__all__``, every fork and exit hook registered by
``pingsdk._lifecycle`` alone, and the model taking its name rules from ``pingsdk._naming``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pingsdk

PACKAGE = Path(pingsdk.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _is_table(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function whose body (after its docstring) is one ``return`` of a data literal."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return False
    names = {type(n) for n in ast.walk(body[0].value)}
    return not names & {ast.Lambda, ast.ListComp, ast.DictComp, ast.GeneratorExp, ast.IfExp}


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_no_module_over_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_relative(path)} has {lines} lines"


def test_no_function_over_80_lines() -> None:
    long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and not _is_table(node):
                    long.append(f"{_relative(path)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_the_front_door_is_short() -> None:
    assert len(pingsdk.__all__) <= 30


def test_fork_and_exit_hooks_are_registered_in_one_module() -> None:
    registering = []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("register_at_fork", "register")
                and isinstance(node.value, ast.Name)
                and node.value.id in ("os", "atexit")
            ):
                registering.append(_relative(path))
    assert sorted(set(registering)) == ["pingsdk/_lifecycle.py"]


def test_the_model_takes_names_from_the_naming_rules_not_the_validator() -> None:
    # The model's one use of the validator is the exact payload check of _payload.py, imported
    # inside the function that needs it (so defining a ping loads no jsonschema); names and
    # patterns come from pingsdk._naming.
    for path in sorted((PACKAGE / "_model").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                assert node.module != "pingsdk.schema._validation", _relative(path)
        uses = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "pingsdk.schema._validation"
        ]
        if path.name != "_payload.py":
            assert uses == [], _relative(path)
        for node in uses:
            assert [alias.name for alias in node.names] == ["schema_validator"]
