"""Glob matching and policy-variable expansion for the reference model.

Usage: ``glob_match(to_tokens("s3:Get*"), "s3:GetObject")``.

A pattern is a list of tokens: ``("lit", ch)`` for a literal character, ``("any", "*")`` for a run of characters
(possibly empty, crossing ``/`` and ``:``) and ``("one", "?")`` for exactly one character. Matching is a plain
recursive walk over the tokens, with no regular expressions.
"""
from __future__ import annotations

from typing import Any

Token = tuple[str, str]

VARIABLES_VERSION = "2012-10-17"


def to_tokens(text: str) -> list[Token]:
    """Tokens of ``text`` where ``*`` and ``?`` are wildcards; every other character is literal."""
    tokens: list[Token] = []
    for ch in text:
        if ch == "*":
            tokens.append(("any", ch))
        elif ch == "?":
            tokens.append(("one", ch))
        else:
            tokens.append(("lit", ch))
    return tokens


def literal_tokens(text: str) -> list[Token]:
    """Tokens of ``text`` where every character, ``*`` and ``?`` included, is literal."""
    return [("lit", ch) for ch in text]


def tokens_text(tokens: list[Token]) -> str:
    """The plain text of a token list (wildcards become their own characters)."""
    return "".join(ch for _, ch in tokens)


def lower_tokens(tokens: list[Token]) -> list[Token]:
    """The same tokens with literal characters lower-cased."""
    return [(kind, ch.lower()) for kind, ch in tokens]


def glob_match(tokens: list[Token], text: str) -> bool:
    """True when ``text`` matches the whole token pattern."""
    return _walk(tokens, 0, text, 0)


def _walk(tokens: list[Token], i: int, text: str, j: int) -> bool:
    if i == len(tokens):
        return j == len(text)
    kind, ch = tokens[i]
    if kind == "any":
        # several stars in a row mean the same as one
        while i + 1 < len(tokens) and tokens[i + 1][0] == "any":
            i += 1
        for k in range(j, len(text) + 1):
            if _walk(tokens, i + 1, text, k):
                return True
        return False
    if j == len(text):
        return False
    if kind == "one" or ch == text[j]:
        return _walk(tokens, i + 1, text, j + 1)
    return False


def scalar_text(value: Any) -> str:
    """The string form AWS compares for a scalar context or policy value."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def expand(text: str, context: dict[str, Any], version: str | None) -> list[Token] | None:
    """Tokens of a Resource or condition value after substituting policy variables.

    Variables exist only in policies of Version 2012-10-17; otherwise ``${...}`` is literal text. ``${*}``, ``${?}``
    and ``${$}`` stand for the literal characters. A variable whose key is missing (or multivalued) uses its default
    ``${key, 'default'}`` when given; with no default the value cannot be resolved and ``None`` is returned.
    """
    if version != VARIABLES_VERSION:
        return to_tokens(text)
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            end = text.find("}", i + 2)
            if end == -1:
                tokens.extend(to_tokens(text[i:]))
                break
            inner = text[i + 2:end]
            if inner in ("*", "?", "$"):
                tokens.append(("lit", inner))
            else:
                value = _resolve(inner, context)
                if value is None:
                    return None
                tokens.extend(literal_tokens(value))
            i = end + 1
            continue
        tokens.extend(to_tokens(text[i]))
        i += 1
    return tokens


def _resolve(inner: str, context: dict[str, Any]) -> str | None:
    default: str | None = None
    if "," in inner:
        key, rest = inner.split(",", 1)
        rest = rest.strip()
        if len(rest) >= 2 and rest[0] == "'" and rest[-1] == "'":
            default = rest[1:-1]
        else:
            default = rest
    else:
        key = inner
    key = key.strip().lower()
    if key in context and not isinstance(context[key], (list, tuple)):
        return scalar_text(context[key])
    return default
