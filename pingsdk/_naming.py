"""Column naming of the pipeline's JSON-Schema-to-BigQuery transpiler: snake_case and legal names.

The word-boundary rules are those of mozilla/jsonschema-transpiler (``--normalize-case``):
underscores and non-word characters separate words, a lowercase letter followed by an uppercase
one starts a new word, a run of capitals is one word (``RAM``, ``GPUActive`` -> ``gpu_active``),
and digits take the case of the letter before them (``D2DEnabled`` -> ``d2d_enabled``).
The expectations are the transpiler's own tables, ``transpiler-cases/casing/*.csv``.
"""

from __future__ import annotations

import re

__all__ = ["column_name", "snake_case"]

_EXTRA_SYMBOL = re.compile(r"[^\w]|_")
# Matched against the *reversed* name: Python (like the original engine) only allows fixed-width
# look-behinds, and reversing turns "a digit run followed by ..." into a fixed-width look-ahead.
_REV_WORD_BOUNDARY = re.compile(
    r"""
    \b                              # a standard word boundary
    |(?<=[a-z][A-Z])(?=\d*[A-Z])    # a run of capitals: A7Aa -> A7|Aa
    |(?<=[a-z][A-Z])(?=\d*[a-z])    # a run of lowercase: a7Aa -> a7|Aa
    |(?<=[A-Z])(?=\d*[a-z])         # a final capital: a7A -> a7|A
    """,
    re.VERBOSE,
)
_BIGQUERY_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def snake_case(name: str) -> str:
    """Convert a property name to ``snake_case`` the way the pipeline's transpiler does.

    Args:
        name: a JSON property name, e.g. ``"activeGMPlugins"``.

    Returns:
        The snake_case form, e.g. ``"active_gm_plugins"``. Leading, trailing and repeated
        underscores disappear (``"_a__a_"`` -> ``"a_a"``).

    Example:
        >>> snake_case("D2DEnabled")
        'd2d_enabled'
    """
    reversed_name = _EXTRA_SYMBOL.sub(" ", name)[::-1]
    words = [word for word in _REV_WORD_BOUNDARY.split(reversed_name) if word.strip()]
    return "_".join(words).lower()[::-1]


def _numeric_prefix(name: str) -> str:
    return f"_{name}" if name[:1].isnumeric() else name


def column_name(name: str, *, normalize_case: bool = True) -> str | None:
    """The BigQuery column name for a property, or ``None`` when it cannot be a column.

    ``.`` and ``-`` become ``_``, a leading digit gets a ``_`` prefix, and the result must be
    a legal BigQuery name (``[a-zA-Z_][a-zA-Z0-9_]*``); ``$schema`` for instance is not, and
    the transpiler omits such properties. With ``normalize_case`` the legal name is then
    snake_cased (and re-prefixed if snake_casing exposed a leading digit: ``_64bit`` stays
    ``_64bit``).

    Args:
        name: the JSON property name.
        normalize_case: apply :func:`snake_case` (the production setting).

    Returns:
        The column name, or ``None`` for a property the transpiler omits.

    Example:
        >>> column_name("GPUActive"), column_name("3d-mode"), column_name("$schema")
        ('gpu_active', '_3d_mode', None)
    """
    renamed = _numeric_prefix(name.replace(".", "_").replace("-", "_")) if name else name
    if not _BIGQUERY_NAME.fullmatch(renamed):
        return None
    if normalize_case:
        renamed = _numeric_prefix(snake_case(renamed))
    return renamed
