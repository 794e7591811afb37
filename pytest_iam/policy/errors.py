"""The one exception the policy engine raises for a bad document.

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
