"""Build the API reference from the docstrings with pdoc: ``python docs/build_api.py [OUT]``.

``make docs`` runs it (into ``build/api/``, offline: the pages are static HTML with their own
CSS and search index). Any pdoc warning (a type annotation it cannot resolve, a docstring it
cannot parse) fails the build with exit status 1, so ``make test`` (tests/test_api_docs.py)
catches a reference that would render wrong.
"""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.render

# The public modules; pdoc documents each one's __all__ (names pingsdk resolves lazily too).
MODULES = (
    "pingsdk",
    "pingsdk.schema",
    "pingsdk.monitoring",
    "pingsdk.wire",
    "pingsdk.edge",
    "pingsdk.testing",
    "pingsdk.glean",
)


def _lend_annotation_names(package_name: str) -> None:
    """Let pdoc resolve the annotations of classes a package re-exports as its own.

    ``pingsdk`` (and ``pingsdk.glean``) set ``__module__`` to the package on the classes they
    export, so reprs and docs say ``pingsdk.X``; pdoc then evaluates their string annotations
    (``Mapping[str, Any]``) in the package's namespace, where the typing names of the defining
    private modules are missing. Every name a private module imports or defines is added to the
    package's namespace for this build only, without replacing any; pdoc documents ``__all__``
    alone, so none of them is listed.
    """
    package = importlib.import_module(package_name)
    if not hasattr(package, "__path__"):
        return
    for name in getattr(package, "__all__", ()):
        getattr(package, name)  # the names imported on first use, and their modules
    namespace = vars(package)
    root = Path(package.__file__ or "").parent
    # Private modules, also those of private subpackages (pingsdk._model._ping).
    for path in sorted(root.rglob("_*.py")):
        relative = path.relative_to(root).with_suffix("").parts
        if path.stem in ("__init__", "__main__") or not all(p.startswith("_") for p in relative):
            continue
        module = importlib.import_module(".".join((package_name, *relative)))
        _run_type_checking_imports(module, path)
        for key, value in vars(module).items():
            if not key.startswith("__"):
                namespace.setdefault(key, value)


def _run_type_checking_imports(module: object, path: Path) -> None:
    # Names imported under `if TYPE_CHECKING:` only exist for type checkers; annotations use them.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            block = ast.Module(body=node.body, type_ignores=[])
            exec(compile(block, str(path), "exec"), vars(module))  # noqa: S102


def build(out: Path) -> list[str]:
    """Write the HTML reference of :data:`MODULES` into ``out``; return pdoc's warnings."""
    for name in MODULES:
        _lend_annotation_names(name)
    pdoc.render.configure(docformat="google", show_source=False, search=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*MODULES, output_directory=out)
    return [str(w.message) for w in caught]


def main(argv: list[str]) -> int:
    """Build into ``argv[0]`` (default ``build/api``); 1 when pdoc warned, 0 otherwise."""
    out = Path(argv[0]) if argv else Path("build/api")
    problems = build(out)
    for problem in problems:
        print(f"build_api: {problem}", file=sys.stderr)
    if problems:
        print(f"build_api: {len(problems)} warning(s); fix the docstrings", file=sys.stderr)
        return 1
    print(f"API reference written to {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
