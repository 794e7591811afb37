"""Hypothesis strategies for malformed input: mutations of valid files, hostile YAML, random text.

Usage::

    @given(text=yaml_text_of(mutated(VALID_ACCOUNTS)) | hostile_yaml())
    def test_...(text): ...

Every parser of a file a person writes must answer each of these with its own named error, in one line naming the
file, or accept it; ``assert_one_line`` checks the first half.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# bounded: these run in CI, all of them together well under a minute on two cores
FUZZ = settings(max_examples=int(os.environ.get("PYTEST_IAM_FUZZ_EXAMPLES", "60")), deadline=timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

ODD_TEXT = ["", " ", "*", "?", "-", "0", "null", "~", "yes", "on", "2027-02-30", "2027-01-31", "{i}", "{}", "{0}",
            "{i:q}", "%s", "\u2028", "\x85", "line\nbreak", "tab\there", "é", "名前", "\U0001f600", "\ufeff", "a" * 300,
            "arn:aws:iam::123456789012:root", "arn:aws:iam::aws:policy/AdministratorAccess", "${aws:username}",
            "@organization_id@", "\\", "'", '"', "#", "&a", "*a", "!!python/object:os.system", "../../etc/passwd"]


def deep(levels: int) -> Any:
    node: Any = "x"
    for n in range(levels):
        node = [node] if n % 2 else {"k": node}
    return node


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.sampled_from([10 ** 400, -1, 0, 2 ** 63, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_TEXT), st.text(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d),
)
nasty = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
) | st.sampled_from([deep(30), deep(80), [], {}, [[]], {"": None}])


@st.composite
def _mutate_once(draw: Any, node: Any) -> Any:
    if isinstance(node, dict) and node and draw(st.integers(0, 2)):
        key = draw(st.sampled_from(sorted(node, key=str)))
        return {**node, key: draw(_mutate_once(node[key]))}
    if isinstance(node, list) and node and draw(st.integers(0, 2)):
        index = draw(st.integers(0, len(node) - 1))
        return node[:index] + [draw(_mutate_once(node[index]))] + node[index + 1:]
    choice = draw(st.integers(0, 6))
    if choice == 0 or not isinstance(node, (dict, list)):
        if isinstance(node, str) and draw(st.booleans()):
            return node + draw(st.sampled_from(ODD_TEXT))
        return draw(nasty)
    if isinstance(node, dict):
        if choice == 1 and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            return {k: v for k, v in node.items() if k != key}  # a missing key
        if choice == 2:
            return {**node, draw(st.sampled_from(["extra", "colour", "Name", "id", "with"]) | st.text(max_size=5)): draw(nasty)}
        if choice == 3:
            return [node]  # one level too deep
        if choice == 4:
            return {str(k).upper(): v for k, v in node.items()}
        return None
    if choice == 1 and node:
        return node[1:]
    if choice == 2 and node:
        return node + [copy.deepcopy(node[0])]  # a duplicate
    if choice == 3:
        return node + [draw(nasty)]
    if choice == 4:
        return {"items": node}
    return []


@st.composite
def mutated(draw: Any, valid: Any, steps: int = 3) -> Any:
    data = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, steps))):
        data = draw(_mutate_once(data))
    return data


def _to_yaml(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
    except yaml.YAMLError:
        return json.dumps(data, default=str)


def yaml_text_of(documents: st.SearchStrategy) -> st.SearchStrategy:
    return documents.map(_to_yaml)


HOSTILE = [
    "!!python/object/apply:os.system ['echo owned']\n",
    "a: !!python/name:os.system\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}, {y: 2}]\n",
    "a: !!pairs [{x: 1}]\n",
    "a: !custom 1\n",
    "a: &a [*a]\n",
    "a: &a {b: *a}\n",
    "a: *undefined\n",
    "<<: *nothing\n",
    "[" * 2000 + "]" * 2000 + "\n",
    "{a: " * 500 + "1" + "}" * 500 + "\n",
    "- " * 300 + "x\n",
    "---\na: 1\n---\nb: 2\n",
    "? [a, b]\n: c\n",
    "{[1, 2]: 3}\n",
    "1: one\n",
    "on: true\n",
    "2027-01-31: date key\n",
    "a: 2027-02-30\n",
    "a: 2027-13-45 25:61:61\n",
    "a: .nan\n",
    "a: -.inf\n",
    "a: 1e400\n",
    "a: 0x" + "f" * 400 + "\n",
    "a:\tb\n",
    "\ufeffa: 1\n",
    "a: \x00\n",
    "a: \x07\n",
    "a: '\ud800'\n",
    "'unclosed\n",
    "a: [1, 2\n",
    "  - x\n - y\n",
    "%YAML 1.1\n%YAML 1.1\n---\na: 1\n",
    "%TAG ! tag:example.com,2000:\n---\na: !foo 1\n",
    "",
    "\n\n",
    "~\n",
    "just a string\n",
    "[1, 2, 3]\n",
]


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def hostile_yaml(valid_text: str = "") -> st.SearchStrategy:
    """Hand-written hostile documents, random text, and a valid file cut or spliced at a random place."""
    options = [st.sampled_from(HOSTILE + [alias_bomb(), alias_bomb(6, 30)]), st.text(max_size=200)]
    if valid_text:
        options.append(st.integers(0, len(valid_text)).map(lambda n: valid_text[:n]))
        options.append(st.tuples(st.integers(0, len(valid_text)), st.sampled_from(ODD_TEXT + [":", "- ", "{", "]", "&x ", "*x ", "!!str ", "\t"]))
                       .map(lambda t: valid_text[:t[0]] + t[1] + valid_text[t[0]:]))
    return st.one_of(*options)


def assert_one_line(exc: BaseException, path: Path) -> None:
    """The error names the file first and fits on one line."""
    message = str(exc)
    assert message.startswith(str(path)), message
    assert len(message.splitlines()) == 1 and "\n" not in message and "\r" not in message, repr(message)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path
