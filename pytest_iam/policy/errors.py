"""The one exception the policy engine raises for a bad document, and the element check shared by its parsers.

Usage: ``except PolicyError as err: print(err)`` -> ``Statement[2].Condition: unknown operator 'StringEqualz'``
"""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy document breaks the IAM JSON policy grammar; the message names the place, on one line."""

    def __init__(self, place: str, problem: str) -> None:
        self.place = place
        self.problem = problem
        text = f"{place}: {problem}" if place else problem
        super().__init__(" ".join(text.split()))


def string_list(value: object, place: str) -> tuple[str, ...]:
    """A non-empty string or a non-empty list of non-empty strings, as a tuple; PolicyError naming ``place``."""
    if type(value) is str and value:
        return (value,)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(place, "must not be an empty list")
    for item in items:
        if not isinstance(item, str) or not item:
            raise PolicyError(place, f"must be a non-empty string or a list of them, got {item!r}")
    return tuple(items)
