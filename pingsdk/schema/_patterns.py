"""Whether a new ``pattern`` accepts every string an old one did: regular-language comparison.

A JSON Schema ``pattern`` is an unanchored search: ``^[0-9]+$`` accepts only digit strings,
``[0-9]+`` any string holding a digit. Each pattern is rewritten into an anchored regular
expression of the strings it accepts and compiled to a finite automaton (interegular, chosen
over greenery by measurement: see the CHANGELOG, #10); inclusion of the automata decides
widening exactly. Patterns outside regular expressions (lookarounds, back-references, word
boundaries, anchors inside a group) cannot be decided that way: a bounded search looks for a
counterexample instead. interegular is imported on first use.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import re
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["PatternRelation", "compare_patterns"]

_ANY = r"[\s\S]*"
# Beyond this many automaton states (estimated from counted repetitions) building the automata
# takes seconds; such patterns are searched for a counterexample instead.
_MAX_STATES = 400
# How many strings of one pattern are tried against the other when no exact answer exists.
_SEARCH_LIMIT = 2_000
_NOT_REGULAR = re.compile(r"\(\?<?[=!]|\\[1-9bBk]|\(\?P[=>]")
# ``\uXXXX`` (ECMA-262) not preceded by an escaped backslash: interegular does not read it.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")


@dataclasses.dataclass(frozen=True, slots=True)
class PatternRelation:
    """How the strings a new ``pattern`` accepts relate to those of the old one.

    Attributes:
        verdict: ``"equal"`` (same strings), ``"widened"`` (every old string still matches),
            ``"narrowed"`` (a string that matched no longer does), or ``"unknown"`` (not
            decidable: a pattern is not a regular expression, or too large to decide).
        example: a string the old pattern accepts and the new one rejects, when one was found.
        reason: why the verdict is ``"unknown"`` (empty otherwise).

    Added in 0.2.
    """

    verdict: Literal["equal", "widened", "narrowed", "unknown"]
    example: str | None = None
    reason: str = ""


def compare_patterns(old: str | None, new: str | None) -> PatternRelation:
    """Compare the languages of two JSON Schema ``pattern`` s (``None``: no pattern, any string).

    Patterns are unanchored searches, as JSON Schema defines them: ``^[0-9]{2}\\.`` accepts every
    string that starts with two digits and a dot. The decision is exact for regular
    expressions; for a pattern that is not one (a lookahead, a back-reference, ``\\b``) the
    verdict is ``"unknown"``, with a counterexample when a search finds one.

    Example:
        >>> compare_patterns(r"^[0-9]{2}\\.", r"^[0-9]{2,3}\\.").verdict
        'widened'
        >>> relation = compare_patterns("[0-9]+", "^[0-9]+$")
        >>> relation.verdict, relation.example
        ('narrowed', '0~')
        >>> compare_patterns(r"^\\d+$", "^[0-9]+$").verdict
        'equal'
    """
    if old == new:
        return PatternRelation("equal")
    old_rx, old_why = _anchored(old)
    new_rx, new_why = _anchored(new)
    if old_rx is not None and new_rx is not None:
        decided = _decide(old, new, old_rx, new_rx)
        if isinstance(decided, PatternRelation):
            return decided
        old_why, new_why = decided
        old_rx = None if old_why else old_rx
        new_rx = None if new_why else new_rx
    reason = "; ".join(
        f"{label} pattern {why}" for label, why in (("old", old_why), ("new", new_why)) if why
    )
    return PatternRelation("unknown", _search_counterexample(old, new, old_rx, new_rx), reason)


def _anchored(pattern: str | None) -> tuple[str | None, str]:
    """An anchored regular expression of the strings ``pattern`` accepts, or why there is none."""
    if pattern is None:
        return _ANY, ""
    if _NOT_REGULAR.search(pattern):
        return None, f"{pattern!r} is not a regular expression (lookaround, back-reference or \\b)"
    pattern = _UNICODE_ESCAPE.sub(
        lambda m: m.group(1) + re.escape(chr(int(m.group(2), 16))), pattern
    )
    branches = _top_level_branches(pattern)
    if branches is None:
        return None, f"{pattern!r} has an unbalanced parenthesis"
    out = []
    for branch in branches:
        start = branch.startswith("^")
        body = branch[1:] if start else branch
        end = body.endswith("$") and not _escaped(body, len(body) - 1)
        body = body[:-1] if end else body
        if _has_anchor(body):
            return None, f"{pattern!r} has an anchor inside a group"
        out.append(f"{'' if start else _ANY}(?:{body}){'' if end else _ANY}")
    if _estimated_states(pattern) > _MAX_STATES:
        return None, f"{pattern!r} is too large to compare exactly"
    return "|".join(f"(?:{b})" for b in out), ""


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _scan(pattern: str) -> Iterator[tuple[int, str, int, bool]]:
    """``(index, char, group depth, in a character class)`` for each unescaped character."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # ``[]...]`` and ``[^]...]``: a leading ``]`` is a literal in Python's syntax.
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        yield i, char, depth, in_class
        i += 1


def _top_level_branches(pattern: str) -> list[str] | None:
    cuts = [
        i
        for i, char, depth, in_class in _scan(pattern)
        if char == "|" and not depth and not in_class
    ]
    if any(depth < 0 for _, _, depth, _ in _scan(pattern)):
        return None
    bounds = [-1, *cuts, len(pattern)]
    return [pattern[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _has_anchor(body: str) -> bool:
    return any(char in "^$" and not in_class for _, char, _, in_class in _scan(body))


def _estimated_states(pattern: str) -> int:
    """Roughly how many automaton states counted repetitions (``{m,n}``) unroll to."""
    stack = [0]
    last = 1
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            last = 1
            stack[-1] += 1
            i += 2
            continue
        if char == "[":
            end = i + 1
            while end < len(pattern) and (pattern[end] != "]" or end == i + 1):
                end += 2 if pattern[end] == "\\" else 1
            last = 1
            stack[-1] += 1
            i = end + 1
            continue
        if char == "(":
            stack.append(0)
        elif char == ")" and len(stack) > 1:
            last = max(stack.pop(), 1)
            stack[-1] += last
        elif char == "{" and (counted := re.match(r"\{(\d*)(?:,(\d*))?\}", pattern[i:])):
            low, high = counted.group(1), counted.group(2)
            bound = int(high) if high else int(low or "0")
            stack[-1] += last * max(bound - 1, 0)
            i += counted.end()
            continue
        else:
            last = 1
            stack[-1] += 1
        i += 1
    return sum(stack)


def _decide(
    old: str | None, new: str | None, old_rx: str, new_rx: str
) -> PatternRelation | tuple[str, str]:
    """The exact relation, or why the old and the new pattern could not be compiled."""
    from interegular import REFlags, parse_pattern
    from interegular.fsm import Alphabet

    parsed: list[Any] = []
    whys: list[str] = []
    for original, rx in ((old, old_rx), (new, new_rx)):
        try:
            parsed.append(parse_pattern(rx))
            whys.append("")
        except Exception as exc:  # interegular signals bad or unsupported syntax variously
            parsed.append(None)
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            whys.append(f"{original!r} cannot be read as a regular expression ({detail})")
    if None in parsed:
        return whys[0], whys[1]
    old_p, new_p = parsed
    try:
        alphabet = Alphabet.union(old_p.get_alphabet(REFlags(0)), new_p.get_alphabet(REFlags(0)))[0]
        old_fsm: Any = old_p.to_fsm(alphabet)
        new_fsm: Any = new_p.to_fsm(alphabet)
    except Exception as exc:  # an unsupported construct surfaces only when compiling
        why = f"cannot be compiled to an automaton ({exc})"
        return why, why
    lost = old_fsm.difference(new_fsm)
    if lost.empty():
        return PatternRelation("equal" if new_fsm.issubset(old_fsm) else "widened")
    return PatternRelation("narrowed", _first_string(lost))


def _representatives(fsm: Any) -> dict[Any, str]:
    """One concrete character per transition key of ``fsm``'s alphabet, chosen the same way
    every run: the smallest printable symbol, or for "anything else" a character outside the
    alphabet's own symbols."""
    from interegular.fsm import anything_else

    alphabet = fsm.alphabet
    chosen: dict[Any, str] = {}
    for key, symbols in alphabet.by_transition.items():
        chars = sorted(s for s in symbols if isinstance(s, str))
        if anything_else in symbols:
            outside = [c for c in "~!#%Zé" if alphabet[c] == key]
            chars = [*outside, *chars, "\x00"]
        printable = [c for c in chars if c.isprintable() and not c.isspace()]
        chosen[key] = (printable or chars)[0]
    return chosen


def _first_string(fsm: Any) -> str | None:
    """The shortest string ``fsm`` accepts (a breadth-first search over states, so it is found
    whatever its length), or ``None`` when it accepts nothing."""
    char = _representatives(fsm)
    back: dict[Any, tuple[Any, str] | None] = {fsm.initial: None}
    queue = collections.deque([fsm.initial])
    while queue:
        state = queue.popleft()
        if state in fsm.finals:
            out: list[str] = []
            step = back[state]
            while step is not None:
                state, symbol = step
                out.append(symbol)
                step = back[state]
            return "".join(reversed(out))
        moves = fsm.map.get(state, {})
        for key in sorted(moves, key=lambda k: char[k]):
            if moves[key] not in back:
                back[moves[key]] = (state, char[key])
                queue.append(moves[key])
    return None


def _strings(fsm: Any, limit: int) -> Iterator[str]:
    """Up to ``limit`` strings ``fsm`` accepts, shortest first, in the same order every run."""
    char = _representatives(fsm)
    # States from which a final state is reachable: others can never complete a string.
    live = set(fsm.finals)
    grew = True
    while grew:
        grew = False
        for state, moves in fsm.map.items():
            if state not in live and any(target in live for target in moves.values()):
                live.add(state)
                grew = True
    queue = collections.deque([("", fsm.initial)] if fsm.initial in live else [])
    expanded = 0
    while queue and expanded < limit:
        text, state = queue.popleft()
        expanded += 1
        if state in fsm.finals:
            yield text
        moves = fsm.map.get(state, {})
        for key in sorted(moves, key=lambda k: char[k]):
            if moves[key] in live:
                queue.append((text + char[key], moves[key]))


def _search_counterexample(
    old: str | None, new: str | None, old_rx: str | None, new_rx: str | None
) -> str | None:
    """A string ``old`` accepts and ``new`` rejects, searched among the strings of whichever
    side is a regular expression and checked with Python's regular expressions."""
    from interegular import parse_pattern

    try:
        old_search = re.compile(old or "")
        new_search = re.compile(new or "")
        fsm: Any
        if old_rx is not None:
            fsm, lost_when = parse_pattern(old_rx).to_fsm(), False
        elif new_rx is not None:
            outside: Any = parse_pattern(new_rx).to_fsm()
            fsm, lost_when = outside.everythingbut(), True
        else:
            return None
        # Strings of old (lost when new misses them), or strings outside new (lost when old
        # accepts them).
        judge, expect = (new_search, False) if not lost_when else (old_search, True)
        for text in _strings(fsm, _SEARCH_LIMIT):
            if (judge.search(text) is not None) == expect:
                return text
    except Exception:  # a search that fails (a pattern Python rejects) finds nothing
        return None
    return None
