"""The words the check engine and the predicates share: finding statuses, the errors of judging, readable values.

Usage::

    from pytest_iam.findings import CheckError, reads, readable

    @reads("policy", "public_access_block")
    def my_predicate(resource, inventory, params): ...
    raise CheckError("the account's public access block could not be read: s3control:GetPublicAccessBlock: ...")
    readable([True, None])      # -> "true, not set"

It sits on the bottom floor, below both ``checks`` and ``predicates``, and imports neither.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

PASS, FAIL, WAIVED, ERROR = "pass", "fail", "waived", "error"
STATUSES = (PASS, FAIL, WAIVED, ERROR)


class CheckDefinitionError(Exception):
    """A check file that cannot be used (message: file, place, what is wrong)."""


class CheckError(Exception):
    """A check that cannot be evaluated against this inventory (missing facts, bad policy): an error finding."""


@dataclass(frozen=True)
class Finding:
    """One resource's result for one check."""

    check: str
    resource: str  # an ARN
    label: str  # a short human name
    status: str  # pass / fail / waived / error
    reason: str = ""


# --- what a predicate reads ------------------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def reads(*fields: str) -> Callable[[F], F]:
    """Declare the top-level fields of the resource view a predicate reads.

    A resource whose ``unread`` record covers one of them is an error finding and the predicate is not called. A
    predicate without this declaration is taken to read every field.
    """

    def mark(fn: F) -> F:
        fn.reads = tuple(fields)  # type: ignore[attr-defined]
        return fn

    return mark


def declared_reads(fn: Callable[..., Any]) -> Optional[tuple]:
    """The fields ``fn`` declared with :func:`reads`, or None when it reads every field."""
    value = getattr(fn, "reads", None)
    return tuple(value) if value is not None else None


def unread_text(unread: Iterable[tuple]) -> str:
    """``[(field, reason), ...]`` -> one line, fields grouped by reason: ``a, b could not be read (reason)``."""
    by_reason: dict = {}
    for name, reason in unread:
        by_reason.setdefault(str(reason), []).append(str(name))
    return "; ".join(f"{', '.join(sorted(names))} could not be read ({reason})" for reason, names in by_reason.items())


# --- words for people ------------------------------------------------------------------------------------------------


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"did you mean 'a'?"``, ``"did you mean 'a' or 'b'?"``, or "" when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=3, cutoff=cutoff)
    if not close:
        return ""
    best = difflib.SequenceMatcher(None, word, close[0]).ratio()
    close = [c for c in close if difflib.SequenceMatcher(None, word, c).ratio() >= best - 0.05]  # only the near-best
    return f"did you mean {either(close)}?"


def either(words: Sequence[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [f"'{w}'" for w in words]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def waiver_note(expires: Any, approved_by: str, reason: str) -> str:
    """What a waived finding's reason ends with: `` [waived until 2027-01-31, approved by ...: ...]``."""
    return f" [waived until {expires}, approved by {approved_by}: {reason}]"


def plural(count: int, singular: str, many: Optional[str] = None) -> str:
    """``plural(1, "check")`` -> "1 check"; ``plural(2, "policy", "policies")`` -> "2 policies"."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def days(value: float) -> str:
    """An age in days for a sentence: "90 days", "90.5 days", "1 day" (one decimal unless it is whole)."""
    rounded = round(value, 1)
    text = str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
    return f"{text} day" if text == "1" else f"{text} days"


def readable(value: Any) -> str:
    """A value as a person reads it: no ``None``, no Python reprs.

    None -> "not set", True/False -> "true"/"false", a list -> its items joined by ", " ("none" when empty), a named
    object (an attached policy, an MFA device) -> its name, a datetime -> its UTC date and time, a number of days with
    a fraction -> one decimal.
    """
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        rounded = round(value, 1)
        return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [readable(v) for v in value]
        return ", ".join(items) if items else "none"
    if isinstance(value, dict):
        for name_key in ("name", "serial", "arn", "id"):
            if isinstance(value.get(name_key), str):
                return value[name_key]
        if not value:
            return "none"
        return ", ".join(f"{k} {readable(v)}" for k, v in value.items())
    return str(value)
