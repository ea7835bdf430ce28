"""The examples in the wire modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import types

import pytest

from pingsdk import _naming
from pingsdk._delivery import _outcome, _retry
from pingsdk.wire import _docid, _encoding, _headers, _urls

MODULES = [_naming, _docid, _urls, _headers, _encoding, _outcome, _retry]


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_docstring_examples(module: types.ModuleType) -> None:
    # module=False: public classes claim __module__ == "pingsdk", which testmod would skip.
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [
        test
        for name in ["__doc__", *module.__all__]
        for test in finder.find(
            getattr(module, name, module) if name != "__doc__" else module,
            f"{module.__name__}.{name}",
            module=False,
            globs=dict(vars(module)),
        )
        if test.examples
    ]
    assert tests, f"{module.__name__} has no examples"
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
