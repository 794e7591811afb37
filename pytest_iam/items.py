"""Standard files as pytest items: one control x one account = one item, with three outcomes.

Usage: pytest collects every ``iam_*.yaml`` file (and each ``--iam-standard``) through ``collect_file``::

    iam_baseline.yaml::iam-root-mfa[prod]            a library control
    iam_baseline.yaml::ACME-IAM-04::iam-access-key-rotation[prod]   a control with the team's own id

A control is judged in the item's setup. Judged and nothing wrong: the item passes. Judged and something wrong: it
fails (the text lists failures, and errors if some resources could not be judged). Not judged at all (only error
findings, or the account unreachable): the setup raises ControlNotEvaluated, so pytest reports an error (a JUnit
``<error>``), never a pass and never a failure that reads like a verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import pytest

from .checks import CheckResult, library_dir, run_check
from .evidence import control_properties, skipped_properties
from .secrets import redact
from .accounts import AccountUnavailable
from .session import state
from .standards import Standard, StandardError, apply_waivers, load_standard


class ControlFailed(Exception):
    """The control was judged and something is wrong."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.summary())
        self.result = result


class ControlNotEvaluated(Exception):
    """The control could not be judged: its facts were not readable, or its account not reachable."""

    def __init__(self, text: str, result: Optional[CheckResult] = None) -> None:
        super().__init__(text)
        self.result = result


def collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    iam_state = state(parent.config)
    is_standard = file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("iam_")
    if is_standard or file_path.resolve() in iam_state.standard_paths:
        if _shipped_or_outside(file_path, parent.config.rootpath):  # named by its file name alone
            return StandardFile.from_parent(parent, path=file_path, nodeid=file_path.name)
        return StandardFile.from_parent(parent, path=file_path)
    return None


def _shipped_or_outside(path: Path, rootpath: Path) -> bool:
    resolved = path.resolve()
    for base, inside_means in ((library_dir().resolve(), True), (rootpath.resolve(), False)):
        try:
            resolved.relative_to(base)
            return inside_means
        except ValueError:
            continue
    return True


class StandardFile(pytest.File):
    def collect(self):  # type: ignore[no-untyped-def]
        iam_state = state(self.config)
        try:
            standard = load_standard(self.path, iam_state.library)
        except StandardError as exc:
            iam_state.collection_errors.append(str(exc))
            return
        accounts = iam_state.account_names
        if not accounts:
            iam_state.needs_account.append(("standard", self.path.name))
        if standard.accounts:
            accounts = [a for a in accounts if a in standard.accounts]
        for control in standard.controls:
            if control.has_team_id:
                yield ControlGroup.from_parent(self, name=control.id, standard=standard, control=control, accounts=accounts)
            else:
                yield from _control_items(self, standard, control, accounts)


def _control_items(parent: pytest.Collector, standard: Standard, control: Any, accounts: List[str]):  # type: ignore[no-untyped-def]
    for account in accounts:
        item = ControlItem.from_parent(parent, name=f"{control.check.id}[{account}]", standard=standard,
                                       control=control, account=account)
        item.add_marker("iam")
        yield item


class ControlGroup(pytest.Collector):
    def __init__(self, *, standard: Standard, control: Any, accounts: List[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.standard = standard
        self.control = control
        self.accounts = accounts

    def collect(self):  # type: ignore[no-untyped-def]
        return list(_control_items(self, self.standard, self.control, self.accounts))


class ControlItem(pytest.Item):
    def __init__(self, *, standard: Standard, control: Any, account: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.standard = standard
        self.control = control
        self.account = account
        self.result: Optional[CheckResult] = None

    def setup(self) -> None:
        """Judge the control; raise ControlNotEvaluated when nothing could be judged (a pytest error)."""
        iam_state = state(self.config)
        if self.control.skip:  # skipped on purpose by the standard: said so, with the reason, never judged
            self.user_properties.extend(skipped_properties(self.control, self.standard, self.account))
            raise pytest.skip.Exception(f"{self.control.id} skipped by the standard: {self.control.skip}",
                                        _use_item_location=self._line() is not None)
        try:
            inventory = iam_state.inventory(self.account)
        except AccountUnavailable as exc:
            self.user_properties.extend(control_properties(
                self.control, self.standard, self.account, reason=str(exc),
                account_id=iam_state.known_account_id(self.account)))
            raise ControlNotEvaluated(str(exc)) from None
        result = run_check(self.control.check, inventory, self.control.params)
        result = apply_waivers(result, self.standard.waivers, self.control)
        self.result = result
        self.user_properties.extend(control_properties(self.control, self.standard, self.account, result=result,
                                                       inventory=inventory))
        if result.outcome == "error":
            raise ControlNotEvaluated(self._text(result, "could not be evaluated"), result)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.outcome == "fail":
            raise ControlFailed(self.result)

    def _text(self, result: CheckResult, verdict: str) -> str:
        check = self.control.check
        lines = [
            f"{self.control.id} {verdict}: {check.title}",
            f"severity {self.control.severity}; {check.frameworks_text()}",
            result.table(),
        ]
        if check.remediation and result.failed:
            lines.append(f"remediation: {check.remediation}")
        return redact("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, ControlFailed):
            return self._text(excinfo.value.result, "failed")
        return super().repr_failure(excinfo)

    def _line(self) -> Optional[int]:
        """The control's line in this item's file, when it is defined (or overridden) there."""
        control = self.control
        same = control.source is not None and Path(control.source).resolve() == Path(self.path).resolve()
        return control.line if same else None

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, self._line(), f"{self.control.id}: {self.control.check.title} [{self.account}]"


def not_evaluated_text(item: pytest.Item, call: pytest.CallInfo) -> Optional[str]:
    """For the report of an item whose setup raised ControlNotEvaluated: its text, without a traceback."""
    if call.excinfo is not None and isinstance(call.excinfo.value, ControlNotEvaluated):
        return str(call.excinfo.value)
    return None
