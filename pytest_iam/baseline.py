"""What changed since an earlier run: findings compared by (account, control, resource).

Usage::

    diff = compare(old_records, new_records, judged={("prod", "ACME-04"), ...}, baseline="last/")
    diff["new_failures"]      # [{"account", "control", "resource", "label", "reason"}, ...]
    diff_bundles(Path("last"), Path("out"))    # the same, offline, between two evidence bundles

Each list answers its own question, so one finding can be in two of them:

- ``new_failures``: failing now, not failing in the baseline (new, or passing, or waived there);
- ``still_failing``: failing in the baseline and now;
- ``fixed``: failing in the baseline, and now passing, or gone from a control that was judged on that account;
- ``newly_waived``: waived now, not waived in the baseline;
- ``waivers_gone``: waived in the baseline, not waived now (failing again, passing, or gone).

Only accounts and controls judged in the new run are compared: a resource of an account or control that this run
did not judge (not selected, or could not be evaluated) is neither fixed nor gone. An entry's label and reason are the
newer ones when the finding is in the new run, else the baseline's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from .ocsf import read_findings

CATEGORIES = ("new_failures", "fixed", "still_failing", "newly_waived", "waivers_gone")
ENTRY_KEYS = ("account", "control", "resource", "label", "reason")
# when one key holds several findings (the same control id in two standards), the strongest status speaks
_RANK = {"fail": 4, "waived": 3, "error": 2, "pass": 1}

Key = Tuple[str, str, str]


def _by_key(records: Iterable[Mapping[str, Any]]) -> Dict[Key, Mapping[str, Any]]:
    out: Dict[Key, Mapping[str, Any]] = {}
    for record in records:
        key = (record["account"], record["control"], record["resource"])
        if key not in out or _RANK.get(record["status"], 0) > _RANK.get(out[key]["status"], 0):
            out[key] = record
    return out


def _entry(record: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: record.get(k) or "" for k in ENTRY_KEYS}


def judged_pairs(controls: Iterable[Mapping[str, Any]]) -> Set[Tuple[str, str]]:
    """(account, control) of the controls that were judged (pass or fail) in a run's manifest."""
    return {(c["account"], c["control"]) for c in controls if c.get("outcome") in ("pass", "fail")}


def compare(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], judged: Set[Tuple[str, str]],
            baseline: str = "") -> Dict[str, Any]:
    """The diff of two runs' finding records (see the module's docstring for what each list holds)."""
    before, after = _by_key(old), _by_key(new)
    out: Dict[str, Any] = {"baseline": baseline, **{name: [] for name in CATEGORIES}}
    for key in sorted(set(before) | set(after)):
        was = before.get(key)
        now = after.get(key)
        if now is None and (key[0], key[1]) not in judged:
            continue  # not judged in this run: nothing can be said about it
        old_status = was["status"] if was else None
        new_status = now["status"] if now else None
        if new_status == "error":
            continue  # could not be judged now: neither fixed nor failing
        entry = _entry(now or was)  # type: ignore[arg-type]
        if new_status == "fail":
            out["still_failing" if old_status == "fail" else "new_failures"].append(entry)
        elif old_status == "fail" and new_status in ("pass", None):
            out["fixed"].append(entry)
        if new_status == "waived" and old_status != "waived":
            out["newly_waived"].append(entry)
        if old_status == "waived" and new_status != "waived":
            out["waivers_gone"].append(entry)
    return out


def counts(diff: Mapping[str, Any]) -> Dict[str, int]:
    return {name: len(diff.get(name) or []) for name in CATEGORIES}


def summary(diff: Mapping[str, Any]) -> str:
    """``"1 new failure, 1 fixed, 4 still failing, 0 newly waived, 0 waivers gone"``."""
    n = counts(diff)
    failures = "failure" if n["new_failures"] == 1 else "failures"
    gone = "waiver" if n["waivers_gone"] == 1 else "waivers"
    return (f"{n['new_failures']} new {failures}, {n['fixed']} fixed, {n['still_failing']} still failing, "
            f"{n['newly_waived']} newly waived, {n['waivers_gone']} {gone} gone")


class BaselineError(Exception):
    """A baseline folder that cannot be used (message: the folder and what is wrong)."""


def load_bundle_findings(directory: Path) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """(finding records, manifest) of an evidence bundle."""
    from .ocsf import OcsfError

    directory = Path(directory)
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{directory}: no manifest.json; give a folder an --iam-evidence run wrote") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{directory / 'manifest.json'}: cannot be read as JSON ({exc})") from None
    try:
        records = read_findings(directory / "findings.ocsf.jsonl")
    except OcsfError as exc:
        raise BaselineError(str(exc)) from None
    return records, manifest


def diff_bundles(old: Path, new: Path, baseline: Optional[str] = None) -> Dict[str, Any]:
    """The diff between two evidence bundles, as ``--iam-baseline OLD`` on the run that wrote NEW would give it."""
    old_records, _ = load_bundle_findings(old)
    new_records, manifest = load_bundle_findings(new)
    return compare(old_records, new_records, judged_pairs(manifest.get("controls") or []),
                   baseline=baseline if baseline is not None else str(old))
