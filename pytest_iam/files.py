"""Reading the files a person writes: YAML with errors that name the file, line and column, and one-line messages.

Usage::

    data = load_yaml(Path("iam-accounts.yaml"), error=AccountsError)   # JSON-shaped data, or AccountsError
    raise AccountsError(f"{path}: {place(['accounts', 'prod'])}: {one_line(problem)}")

The bottom floor for ``accounts``, ``mock``, ``standards`` and ``checks``: it imports none of them. What it returns is
JSON-shaped (mappings with string keys, lists, strings, finite numbers, booleans, null; YAML dates are kept as
``datetime.date``), small enough to walk (no alias bombs, no self-referencing aliases, no absurd nesting), so no
reader downstream meets a value it cannot handle.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Type

import yaml

MAX_DEPTH = 64  # levels of nesting in a file a person writes
MAX_NODES = 200_000  # values in a file once its aliases are expanded
MAX_OPEN_BRACKETS = 200  # YAML's scanner is quadratic in flow nesting: refuse ``[[[[...`` before it runs


class FileError(Exception):
    """A file a person wrote that cannot be used; the message is one line: file, place, what is wrong."""


def one_line(text: str) -> str:
    """``text`` with every line break and control character made visible, so a message stays on one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def place(path: Any) -> str:
    """``['controls', 2, 'with']`` -> ``controls[2].with``; empty -> ``(top level)``. Odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part and part.isprintable() and not any(c in part for c in ".[] "):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(top level)"


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, but a timestamp that is not a real date (``2027-02-30``) stays the string it was."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)

_SCALARS = (str, bool, int, float, type(None), dt.date)


def dates_as_text(node: Any, *, date_only: bool = False) -> Any:
    """``node`` with every YAML date (``expires: 2027-01-31``, ``Version: 2012-10-17``) as the ISO text it was
    written as; ``date_only`` keeps only the day of a timestamp. Mappings and lists are copied, nothing is changed."""
    if isinstance(node, dict):
        return {k: dates_as_text(v, date_only=date_only) for k, v in node.items()}
    if isinstance(node, list):
        return [dates_as_text(v, date_only=date_only) for v in node]
    if isinstance(node, (dt.date, dt.datetime)):
        return node.isoformat()[:10] if date_only else node.isoformat()
    return node


def load_yaml(path: str | Path, error: Type[Exception] = FileError) -> Any:
    """Parse a YAML file into JSON-shaped data; every problem raises ``error`` with ``file[:line:col]: problem``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {one_line(exc.strerror or type(exc).__name__)}") from None
    deep = _deep_flow(text)
    if deep:
        raise error(f"{path}:{deep[0]}:{deep[1]}: not valid YAML: nested too deeply (more than {MAX_OPEN_BRACKETS} open brackets)")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise error(f"{path}{where}: not valid YAML: {one_line(problem)}") from None
    except RecursionError:
        raise error(f"{path}: not valid YAML: nested too deeply") from None
    problem = shape_problem(data)
    if problem:
        raise error(f"{path}: {problem}")
    return data


def _deep_flow(text: str) -> tuple:
    """(line, column) where ``[`` / ``{`` nesting passes MAX_OPEN_BRACKETS, or ``()``. A rough scan (quotes end at a
    line's end, comments skipped): it only has to be right about absurd files, and a normal file is far below."""
    if text.count("[") + text.count("{") <= MAX_OPEN_BRACKETS:
        return ()
    depth, line, quote, comment = 0, 1, "", False
    for offset, ch in enumerate(text):
        if ch == "\n":
            line, quote, comment = line + 1, "", False
            continue
        if comment:
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_OPEN_BRACKETS:
                return line, offset - text.rfind("\n", 0, offset)
        elif ch in "]}" and depth:
            depth -= 1
    return ()


def shape_problem(data: Any) -> str:
    """What keeps ``data`` from being a plain, walkable JSON-shaped value (``place: problem``), or ``""``.

    Shared values (YAML aliases) are counted once per use, without walking them again, so a "billion laughs" file is
    refused in time proportional to its text."""
    sizes: dict = {}  # id -> expanded size of a finished container
    on_path: set = set()
    # iterative depth-first walk: (value, path, children iterator or None)
    stack: list = [(data, [], None)]
    while stack:
        value, path, children = stack[-1]
        if children is None:
            if isinstance(value, _SCALARS) and not isinstance(value, (dict, list)):
                if isinstance(value, float) and not math.isfinite(value):
                    return f"{place(path)}: {value!r} is not a number a file may hold"
                stack.pop()
                continue
            if not isinstance(value, (dict, list)):
                return f"{place(path)}: a YAML {type(value).__name__} is not allowed here (use mappings, lists, strings, numbers)"
            if id(value) in on_path:
                return f"{place(path)}: an alias refers to a value that contains it"
            if id(value) in sizes:
                stack.pop()
                continue
            if len(path) >= MAX_DEPTH:
                return f"{place(path[:6])}...: nested more than {MAX_DEPTH} levels deep"
            if isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        return f"{place(path)}: key {key!r} is not a string (quote it)"
                items = list(value.items())
            else:
                items = list(enumerate(value))
            on_path.add(id(value))
            stack[-1] = (value, path, iter(items))
            continue
        nxt = next(children, None)
        if nxt is not None:
            key, child = nxt
            stack.append((child, path + [key], None))
            continue
        total = 1
        for child in (value.values() if isinstance(value, dict) else value):
            total += sizes.get(id(child), 1)
        if total > MAX_NODES:
            return f"{place(path)}: more than {MAX_NODES} values once aliases are expanded"
        sizes[id(value)] = total
        on_path.discard(id(value))
        stack.pop()
    return ""
