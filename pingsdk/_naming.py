"""The pipeline's naming rules: namespaces, doctypes, versions, docIds, BigQuery column names.

One place for every name check, so the model, the wire, the edge and the test kit agree:

- a Ping class declares its namespace and doctype in lowercase kebab-case (:data:`NAME_PATTERN`),
  as the schema repository names its folders; on the wire ``_`` is accepted too
  (:data:`URL_NAME_PATTERN`: real schema names have it), and the pipeline finds a schema with
  ``-`` and ``_`` alike (:func:`lookup_name`);
- a version is a positive integer up to 2**63 - 1 written without leading zeros
  (:data:`VERSION_PATTERN`, :data:`MAX_VERSION`);
- a docId is a UUID; pingsdk sends it in canonical lowercase (:data:`DOC_ID_PATTERN`), the
  pipeline takes any case (:func:`is_doc_id` with ``any_case=True``);
- BigQuery column names follow the pipeline's transpiler (:func:`column_name`, :func:`snake_case`).

No I/O; nothing here imports the rest of the package but its exceptions.
"""

from __future__ import annotations

import functools
import re

from pingsdk._exceptions import ConfigurationError

__all__ = [
    "DOC_ID_PATTERN",
    "EXAMPLE_NAME_PATTERN",
    "LEGACY_NAMESPACE",
    "MAX_VERSION",
    "NAME_PATTERN",
    "URL_NAME_PATTERN",
    "VERSION_PATTERN",
    "check_url_name",
    "column_name",
    "is_doc_id",
    "lookup_name",
    "parse_version",
    "snake_case",
    "validate_name",
]

NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
"""Namespaces and doctypes of Ping classes (use ``fullmatch``): lowercase kebab-case, no leading or
trailing '-'."""
URL_NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?")
"""Namespaces and doctypes in a submit URL: a-z, 0-9, '-' and '_', not at the ends."""
EXAMPLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
"""Names of a ping's validation examples (part of a file name: no dots)."""
LEGACY_NAMESPACE = "telemetry"
"""The namespace reserved for Firefox desktop pings, sent with the legacy URL form."""
MAX_VERSION = 2**63 - 1
"""The largest document version: the pipeline parses ``docVersion`` as a signed 64-bit integer
(and writes it into the BigQuery table name ``<doctype>_v<version>``), so a larger one could
never be stored."""
VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,18}")
"""A version as written in a URL or a file name: a positive decimal, no leading zero, at most
19 digits (as many as :data:`MAX_VERSION`; larger still needs the comparison with it)."""
DOC_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID in canonical lowercase ``8-4-4-4-12`` form (any version)."""


def lookup_name(name: str) -> str:
    """A namespace or doctype as the pipeline compares them: ``-`` and ``_`` are the same.

    >>> lookup_name("search-counts") == lookup_name("search_counts")
    True
    """
    return name.replace("-", "_")


def validate_name(kind: str, value: object) -> str:
    """Check a Ping class's namespace or doctype against the schema repository's naming rule.

    Returns the value; raises :class:`ConfigurationError` naming what to fix.

    >>> validate_name("doctype", "search-counts")
    'search-counts'
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{kind} must be a str, got {type(value).__name__}")
    if not NAME_PATTERN.fullmatch(value):
        raise ConfigurationError(
            f"{kind} {value!r} is not lowercase kebab-case: use only a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )
    return value


@functools.lru_cache(maxsize=256)  # submit() checks the same few names again and again
def _is_url_name(value: str) -> bool:
    return URL_NAME_PATTERN.fullmatch(value) is not None


def check_url_name(kind: str, value: object) -> str:
    """Check a namespace or doctype for a submit URL (:data:`URL_NAME_PATTERN`); return it.

    Raises:
        ConfigurationError: not a str, or a character outside the rule.

    >>> check_url_name("doctype", "search_counts")
    'search_counts'
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{kind} must be a str, got {type(value).__name__}")
    if not _is_url_name(value):
        raise ConfigurationError(
            f"{kind} {value[:100]!r} is not a valid URL name: use lowercase a-z, 0-9, '-' and '_', "
            "starting and ending with a letter or digit"
        )
    return value


def parse_version(value: object) -> int | None:
    """A positive integer version up to :data:`MAX_VERSION` from an int or its decimal text
    (:data:`VERSION_PATTERN`), else ``None``.

    >>> parse_version("4"), parse_version("04"), parse_version(2**63), parse_version(True)
    (4, None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_VERSION else None
    if isinstance(value, str) and VERSION_PATTERN.fullmatch(value):
        number = int(value)
        return number if number <= MAX_VERSION else None
    return None


def is_doc_id(value: str, *, any_case: bool = False) -> bool:
    """``True`` for a UUID in ``8-4-4-4-12`` hex form (:data:`DOC_ID_PATTERN`).

    Args:
        value: the docId.
        any_case: accept upper-case hex digits too, as the pipeline does (pingsdk itself only
            sends lowercase).

    >>> is_doc_id("0B5C3F5E-8A32-4A0E-9C4E-3D5BD0C5F3A1"), is_doc_id(
    ...     "0B5C3F5E-8A32-4A0E-9C4E-3D5BD0C5F3A1", any_case=True)
    (False, True)
    """
    # No character outside [0-9A-Fa-f-] lower-cases into the pattern, so lowering first is
    # exactly a case-insensitive match of the hex digits.
    return DOC_ID_PATTERN.fullmatch(value.lower() if any_case else value) is not None


# -- BigQuery column names -------------------------------------------------------------------
# The word-boundary rules are those of mozilla/jsonschema-transpiler (``--normalize-case``):
# underscores and non-word characters separate words, a lowercase letter followed by an uppercase
# one starts a new word, a run of capitals is one word (``RAM``, ``GPUActive`` -> ``gpu_active``),
# and digits take the case of the letter before them (``D2DEnabled`` -> ``d2d_enabled``). The
# expectations are the transpiler's own tables, ``transpiler-cases/casing/*.csv``.

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
