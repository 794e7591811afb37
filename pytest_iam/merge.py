"""Merge evidence bundles of disjoint account sets (the jobs of a ``--iam-shard K/N`` matrix) into one bundle.

Usage::

    digest = merge_bundles(Path("org-evidence"), [Path("shard-1"), Path("shard-2")])
    # or: python -m pytest_iam merge org-evidence shard-1 shard-2

Every input must verify, and no account may appear in two of them. The merged bundle holds every snapshot, every
finding, every control, one JUnit XML with each input's ``<testsuite>``, a report over the whole organization, and a
new manifest (``merged_from`` names each input with its manifest's SHA-256); ``verify`` accepts it like any other.
A standard or check file used by two inputs must have the same SHA-256 in both: the shards ran the same standards.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .baseline import CATEGORIES
from .bundle import DIFF, FINDINGS, JUNIT, MANIFEST, BundleError, finish_bundle, prepare, tally, verify_problem
from .ocsf import OcsfError, read_findings


class MergeError(Exception):
    """Bundles that cannot be merged (message: which bundle and why, one line)."""


def _accounts_of(manifest: Dict[str, Any]) -> set:
    return set(manifest.get("accounts") or {}) | {c.get("account") for c in manifest.get("controls") or []}


def merge_bundles(out: Path, bundles: Sequence[Path]) -> str:
    """Write the merged bundle into ``out`` (new, empty, or an earlier bundle); returns its manifest's SHA-256."""
    out, bundles = Path(out), [Path(b) for b in bundles]
    if not bundles:
        raise MergeError("no bundle to merge")
    for bundle in bundles:
        if bundle.resolve() == out.resolve():
            raise MergeError(f"{out}: is also an input; write the merged bundle elsewhere")
        problem = verify_problem(bundle)
        if problem:
            raise MergeError(f"{bundle}: does not verify: {problem}")
    manifests = [json.loads((b / MANIFEST).read_bytes()) for b in bundles]
    owner: Dict[str, Path] = {}
    for bundle, manifest in zip(bundles, manifests):
        for account in sorted(_accounts_of(manifest) - {None}):
            if account in owner:
                raise MergeError(f"account {account} is in both {owner[account]} and {bundle}: merge bundles of "
                                 "disjoint accounts (one per shard)")
            owner[account] = bundle
    files_used: Dict[str, str] = {}
    for bundle, manifest in zip(bundles, manifests):
        for name, digest in (manifest.get("standards_and_checks") or {}).items():
            if files_used.setdefault(name, digest) != digest:
                raise MergeError(f"{bundle}: {name} has another SHA-256 than in an earlier bundle: the shards ran "
                                 "different standards or checks")
    try:
        prepare(out)
    except BundleError as exc:
        raise MergeError(str(exc).replace("--iam-evidence ", "")) from None
    try:
        records = [r for b in bundles for r in read_findings(b / FINDINGS)]
    except OcsfError as exc:
        raise MergeError(str(exc)) from None
    records.sort(key=lambda r: (r["account"], r["standard"], r["control"], r["resource"], r["status"]))
    accounts: Dict[str, Any] = {}
    for bundle, manifest in zip(bundles, manifests):
        for name, facts in (manifest.get("accounts") or {}).items():
            accounts[name] = facts
            snapshot = (facts or {}).get("snapshot")
            if snapshot and (bundle / snapshot).is_file():
                (out / snapshot).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bundle / snapshot, out / snapshot)
    manifest = {
        "versions": manifests[0].get("versions"),
        "started_at": min((m.get("started_at") or "" for m in manifests), default=""),
        "finished_at": max((m.get("finished_at") or "" for m in manifests), default=""),
        "command_line": ["pytest-iam", "merge", out.name, *(b.name for b in bundles)],
        "exit_status": max(int(m.get("exit_status") or 0) for m in manifests),
        "accounts": dict(sorted(accounts.items())),
        "standards_and_checks": dict(sorted(files_used.items())),
        "findings": tally(records),
        "stale_waivers": _stale_everywhere(manifests),
        "expiring_waivers": _unique(w for m in manifests for w in m.get("expiring_waivers") or []),
        "baseline": None,
        "controls": sorted((c for m in manifests for c in m.get("controls") or []),
                           key=lambda c: (c.get("account", ""), c.get("standard", ""), c.get("control", ""))),
        "merged_from": [
            {"bundle": b.name, "manifest_sha256": hashlib.sha256((b / MANIFEST).read_bytes()).hexdigest(),
             "command_line": m.get("command_line"), "exit_status": m.get("exit_status"), "versions": m.get("versions"),
             "accounts": sorted(m.get("accounts") or {})}
            for b, m in zip(bundles, manifests)
        ],
    }
    diff = _merged_diff(bundles)
    with tempfile.TemporaryDirectory(prefix="pytest-iam-merge-") as scratch:
        junit = _merged_junit(bundles, Path(scratch) / JUNIT)
        return finish_bundle(out, manifest, records, diff=diff, junit_xml=junit)


def _unique(items: Any) -> List[Any]:
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _stale_everywhere(manifests: List[Dict[str, Any]]) -> List[Any]:
    """A waiver is stale in the merged run only if it matched nothing in every input that ran its standard."""
    keyed = [{json.dumps(w, sort_keys=True): w for w in m.get("stale_waivers") or []} for m in manifests]
    common = set.intersection(*(set(k) for k in keyed)) if keyed else set()
    return [keyed[0][k] for k in sorted(common)]


def _merged_diff(bundles: List[Path]) -> Optional[Dict[str, Any]]:
    diffs = [json.loads((b / DIFF).read_bytes()) for b in bundles if (b / DIFF).is_file()]
    if len(diffs) != len(bundles):
        return None
    merged: Dict[str, Any] = {"baseline": "; ".join(sorted({str(d.get("baseline")) for d in diffs}))}
    for name in CATEGORIES:
        merged[name] = sorted((e for d in diffs for e in d.get(name) or []),
                              key=lambda e: (e.get("account", ""), e.get("control", ""), e.get("resource", "")))
    return merged


def _merged_junit(bundles: List[Path], target: Path) -> Optional[Path]:
    """One ``<testsuites>`` holding every input's ``<testsuite>`` elements; None when no input has a JUnit XML."""
    root = ET.Element("testsuites", {"name": "pytest-iam merged"})
    for bundle in bundles:
        path = bundle / JUNIT
        if not path.is_file():
            continue
        try:
            tree = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise MergeError(f"{path}: not XML: {exc}") from None
        suites = [tree] if tree.tag == "testsuite" else list(tree.iter("testsuite"))
        root.extend(suites)
    if not len(root):
        return None
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target
