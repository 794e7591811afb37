"""JSON Schemas for every file a person writes and every file the plugin writes.

Usage::

    from pytest_iam.schemas import validate
    validate("accounts", data, "iam-accounts.yaml", error=pytest.UsageError)

The error is one line: ``<file>: <place in the file>: <what was expected>``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Type

import jsonschema
from jsonschema.exceptions import best_match

from ..files import one_line, place  # noqa: F401 -- place: the old import path


class SchemaError(Exception):
    """A document that does not match its schema."""


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text())


@functools.lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def describe(error: jsonschema.ValidationError) -> str:
    message = one_line(error.message)
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{place(error.absolute_path)}: {message}"


def validate(name: str, data: Any, source: str, error: Type[Exception] = SchemaError) -> None:
    """Raise ``error`` with a one-line message when ``data`` does not match schema ``name``."""
    found = best_match(_validator(name).iter_errors(data))
    if found is not None:
        raise error(f"{source}: {describe(found)}")
