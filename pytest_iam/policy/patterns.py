"""Wildcard patterns and policy variables, compiled once and cached by their text.

Usage: ``glob(\"s3:Get*\", True).fullmatch(\"s3:getobject\")``;
``template(\"arn:aws:s3:::b/${aws:username}/*\", True).regex(lookup)``

``*`` matches any run of characters (including ``/`` and ``:``), ``?`` exactly one character. Policy variables
(``${key}``, ``${key, 'default'}``, and the escapes ``${*}``, ``${?}``, ``${$}``) exist only in policies whose Version
is 2012-10-17 (IAM "Policy variables" doc); elsewhere ``${...}`` is literal text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Optional

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_BODY = re.compile(r"^\s*([^\s,'}]+)\s*(?:,\s*'([^']*)'\s*)?$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}

Lookup = Callable[[str], Optional[object]]


class Unresolved(Exception):
    """A policy variable names a key absent from the request and has no default: the statement does not match."""


def has_wildcard(text: str) -> bool:
    """True when ``text`` holds ``*`` or ``?``."""
    return "*" in text or "?" in text


def glob_source(pattern: str) -> str:
    """The regular-expression source of a wildcard pattern (``*`` -> ``.*``, ``?`` -> ``.``)."""
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@lru_cache(maxsize=16384)
def compile_source(source: str, ignore_case: bool) -> re.Pattern:
    """Compile a regular-expression source once (DOTALL; IGNORECASE when asked)."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


@lru_cache(maxsize=16384)
def glob(pattern: str, ignore_case: bool) -> re.Pattern:
    """The compiled matcher of one wildcard pattern; use ``.fullmatch``."""
    return compile_source(glob_source(pattern), ignore_case)


def glob_any(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern:
    """One matcher for several wildcard patterns (OR)."""
    return _glob_any(tuple(sorted(set(patterns))), ignore_case)


@lru_cache(maxsize=8192)
def _glob_any(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern:
    return compile_source("|".join(f"(?:{glob_source(p)})" for p in patterns), ignore_case)


class PatternSet:
    """Several wildcard patterns (OR): exact texts and ``prefix*`` patterns without regex; others compiled lazily.

    Usage: ``PatternSet(("s3:Get*", "ec2:*"), ignore_case=True).matches("s3:getobject")`` (text already lower-case
    when ``ignore_case``)
    """

    __slots__ = ("all", "exact", "prefixes", "wild", "ignore_case", "_regex")

    def __init__(self, patterns: tuple[str, ...], ignore_case: bool) -> None:
        self.ignore_case = ignore_case
        self.all = False
        exact, prefixes, wild = set(), [], []
        for pattern in patterns:
            text = pattern.lower() if ignore_case else pattern
            if text == "*":
                self.all = True
            elif "*" not in text and "?" not in text:
                exact.add(text)
            elif text[-1] == "*" and not has_wildcard(text[:-1]):
                prefixes.append(text[:-1])
            else:
                wild.append(text)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.wild = tuple(wild)
        self._regex = None

    def matches(self, text: str) -> bool:
        if self.all or text in self.exact:
            return True
        if self.prefixes and text.startswith(self.prefixes):
            return True
        if self.wild:
            if self._regex is None:
                self._regex = glob_any(self.wild, self.ignore_case)
            return self._regex.fullmatch(text) is not None
        return False


def match_patterns(patterns: tuple[str, ...], text: str, ignore_case: bool) -> bool:
    """Whether ``text`` matches any wildcard pattern (``patterns`` and ``text`` lower-case when ``ignore_case``)."""
    for pattern in patterns:
        if pattern == text or pattern == "*":
            return True
        if "*" in pattern or "?" in pattern:
            head = pattern[:-1]
            if pattern[-1] == "*" and "*" not in head and "?" not in head:
                if text.startswith(head):
                    return True
            elif glob(pattern, ignore_case).fullmatch(text) is not None:
                return True
    return False


def value_text(value: object) -> str:
    """A context value as policy text: booleans as ``true``/``false``, numbers in decimal."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class Template:
    """A policy string with variables: literal parts, ``("var", key, default)`` parts and escaped characters."""

    __slots__ = ("text", "parts", "is_static", "_compiled")

    def __init__(self, text: str, parts: tuple) -> None:
        self.text = text
        self.parts = parts  # ("lit", text) | ("esc", char) | ("var", key_lower, default_or_None)
        self.is_static = all(part[0] == "lit" for part in parts)
        self._compiled: dict = {}  # a cache: resolved variable values -> matcher

    @property
    def required_keys(self) -> tuple[str, ...]:
        """Keys of the variables that have no default (each must resolve for the statement to match)."""
        return tuple(part[1] for part in self.parts if part[0] == "var" and part[2] is None)

    def text_value(self, lookup: Lookup) -> str:
        """The string with every variable replaced (raises Unresolved)."""
        out = []
        for part in self.parts:
            if part[0] == "lit" or part[0] == "esc":
                out.append(part[1])
            else:
                out.append(_resolve(part, lookup))
        return "".join(out)

    def matches(self, text: str, lookup: Lookup) -> bool:
        """Case-sensitive wildcard match of ``text`` (raises Unresolved); no regex when values hold no wildcard."""
        parts = self.parts
        out = []
        for part in parts:
            kind = part[0]
            if kind == "lit":
                out.append(part[1])
            elif kind == "var":
                value = _resolve(part, lookup)
                if "*" in value or "?" in value:
                    return self.regex(lookup, False).fullmatch(text) is not None
                out.append(value)
            else:
                return self.regex(lookup, False).fullmatch(text) is not None
        return match_patterns(("".join(out),), text, False)

    def regex(self, lookup: Lookup, ignore_case: bool) -> re.Pattern:
        """A matcher where the policy's own ``*``/``?`` are wildcards and substituted values are literal."""
        resolved = tuple(_resolve(part, lookup) for part in self.parts if part[0] == "var")
        found = self._compiled.get((resolved, ignore_case))
        if found is not None:
            return found
        values = iter(resolved)
        out = []
        for part in self.parts:
            if part[0] == "lit":
                out.append(glob_source(part[1]))
            elif part[0] == "esc":
                out.append(re.escape(part[1]))
            else:
                out.append(re.escape(next(values)))
        found = compile_source("".join(out), ignore_case)
        if len(self._compiled) > 256:
            self._compiled.clear()
        self._compiled[(resolved, ignore_case)] = found
        return found


def resolvable(key: str, lookup: Lookup) -> bool:
    """Whether the variable ``key`` resolves: present and single-valued (a list is a multivalued key, which can never be
    a policy variable, whatever its length)."""
    value = lookup(key)
    return value is not None and not isinstance(value, (list, tuple, set, frozenset))


def _resolve(part: tuple, lookup: Lookup) -> str:
    value = lookup(part[1])
    if isinstance(value, (list, tuple, set, frozenset)):
        value = None  # a multivalued key cannot be a policy variable (IAM multivalued context keys doc)
    if value is None:
        if part[2] is None:
            raise Unresolved(part[1])
        return part[2]
    return value_text(value)


@lru_cache(maxsize=512)
def template(text: str, variables: bool) -> Template:
    """Split ``text`` into literal parts and policy variables (only when ``variables`` is true)."""
    if not variables or "${" not in text:
        return Template(text, (("lit", text),))
    parts: list[tuple] = []
    pos = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > pos:
            parts.append(("lit", text[pos:match.start()]))
        body = match.group(1)
        if body in _ESCAPES:
            parts.append(("esc", _ESCAPES[body]))
        else:
            parsed = _VARIABLE_BODY.match(body)
            if parsed is None:
                parts.append(("lit", match.group(0)))
            else:
                parts.append(("var", parsed.group(1).lower(), parsed.group(2)))
        pos = match.end()
    if pos < len(text):
        parts.append(("lit", text[pos:]))
    return Template(text, tuple(parts))
