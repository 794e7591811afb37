"""Evidence bundles: one folder per run that an auditor can keep, and check that nobody edited.

Usage::

    finish_bundle(directory, manifest, records, diff=diff, junit_xml=Path("evidence.xml"))
    problems = verify_bundle(directory)      # [] when every file is as the manifest says

A bundle holds::

    manifest.json            versions, times, command line, accounts, controls, and the SHA-256 of every other file
    manifest.json.sha256     the manifest's own SHA-256, in ``sha256sum`` format
    findings.ocsf.jsonl      every finding, one OCSF Compliance Finding a line (``ocsf.py``)
    snapshots/<file>.json    each account's inventory, the bytes ``--iam-save-snapshot`` writes
    junit.xml                a copy of the run's JUnit XML, when the run wrote one
    diff.json                what changed since ``--iam-baseline``, when one was given
    report.html              the page for people (``report_html.py``)

Every file but the manifest and its checksum is listed in the manifest's ``files`` with its SHA-256; the manifest's
own hash is printed at the end of the run, so a copy of it kept elsewhere (a CI log) pins the whole bundle.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from .ocsf import write_findings

FORMAT = "pytest-iam-evidence/1"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.json.sha256"
FINDINGS = "findings.ocsf.jsonl"
DIFF = "diff.json"
JUNIT = "junit.xml"
REPORT = "report.html"
SNAPSHOTS = "snapshots"
PARTS = ".parts"
BUNDLE_NAMES = {MANIFEST, MANIFEST_SUM, FINDINGS, DIFF, JUNIT, REPORT, SNAPSHOTS, PARTS}


class BundleError(Exception):
    """A folder that cannot be used as a bundle (message: the folder and what to do)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


def bundle_files(directory: Path) -> List[str]:
    """Every file of the bundle but the manifest and its checksum, as sorted POSIX paths relative to the folder."""
    directory = Path(directory)
    out = []
    for path in directory.rglob("*"):
        if path.is_dir():
            continue
        relative = path.relative_to(directory).as_posix()
        if relative in (MANIFEST, MANIFEST_SUM) or relative.split("/")[0] == PARTS:
            continue
        out.append(relative)
    return sorted(out)


def prepare(directory: Path, baseline: Optional[Path] = None) -> None:
    """Make ``directory`` ready for a new bundle: create it, or empty an earlier bundle there. A folder holding
    anything else is refused, so no stray file is ever hashed into the evidence."""
    directory = Path(directory)
    if baseline is not None and directory.resolve() == Path(baseline).resolve():
        raise BundleError(f"--iam-evidence {directory}: is the --iam-baseline folder; write the new bundle elsewhere")
    if directory.exists() and not directory.is_dir():
        raise BundleError(f"--iam-evidence {directory}: is a file; give a folder")
    if directory.is_dir():
        entries = {p.name for p in directory.iterdir()}
        strangers = sorted(entries - BUNDLE_NAMES)
        if strangers:
            raise BundleError(f"--iam-evidence {directory}: holds {strangers[0]!r}, which is not part of a bundle; "
                              "give an empty or new folder")
        for name in entries:
            path = directory / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def finish_bundle(directory: Path, manifest: Dict[str, Any], records: Iterable[Mapping[str, Any]], *,
                  diff: Optional[Mapping[str, Any]] = None, junit_xml: Optional[Path] = None,
                  report: bool = True) -> str:
    """Write the findings, the diff, the JUnit copy and the report, then the manifest with every file's hash.
    The snapshots are already in ``snapshots/``. Returns the manifest's SHA-256."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(directory / PARTS, ignore_errors=True)
    write_findings(directory / FINDINGS, records)
    if diff is not None:
        (directory / DIFF).write_bytes(_json_bytes(diff))
    manifest = dict(manifest)
    manifest["format"] = FORMAT
    copied = junit_xml is not None and Path(junit_xml).is_file()
    if copied:
        shutil.copyfile(junit_xml, directory / JUNIT)
    files = {name: sha256_file(directory / name) for name in bundle_files(directory)}  # each file hashed once
    manifest["junit_xml"] = {"file": JUNIT, "sha256": files[JUNIT]} if copied else None
    manifest["files"] = files
    if report:
        (directory / MANIFEST).write_bytes(_json_bytes(manifest))  # the report reads the manifest
        manifest["report_error"] = _write_report(directory)
        if (directory / REPORT).is_file():  # the one file written since: its hash joins the others'
            manifest["files"] = dict(sorted({**files, REPORT: sha256_file(directory / REPORT)}.items()))
    data = _json_bytes(manifest)
    (directory / MANIFEST).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (directory / MANIFEST_SUM).write_text(f"{digest}  {MANIFEST}\n", encoding="utf-8")
    return digest


def _write_report(directory: Path) -> Optional[str]:
    """Write ``report.html`` with the HTML renderer when it is installed; the error text if it failed, else None."""
    try:
        from . import report_html
    except ImportError:
        return None
    try:
        report_html.write_report(directory)
    except Exception as exc:  # the evidence stays whole without the page; the manifest says why it is missing
        (directory / REPORT).unlink(missing_ok=True)
        return f"{type(exc).__name__}: {exc}"
    return None


def _safe(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and ".." not in parts and "" not in parts and "\\" not in name


def verify_bundle(directory: Path, expect_sha256: Optional[str] = None) -> List[str]:
    """Recompute every hash of the bundle: [] when all holds, else one line per problem, each naming its file
    (``changed``, ``added``, ``removed``, or what is inconsistent in the manifest)."""
    directory = Path(directory)
    if not directory.is_dir():
        return [f"{directory}: no such folder"]
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return [f"removed: {MANIFEST} (no manifest: not a bundle, or its manifest was deleted)"]
    problems: List[str] = []
    data = manifest_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    recorded = _recorded_manifest_sum(directory, problems)
    if recorded is not None and recorded != digest:
        # the manifest's own hashes cannot be trusted any more: it alone is named
        return problems + [f"changed: {MANIFEST} (its SHA-256 is not the one in {MANIFEST_SUM})"]
    if expect_sha256 and expect_sha256.lower() != digest:
        problems.append(f"changed: {MANIFEST} (its SHA-256 {digest} is not the expected {expect_sha256})")
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"changed: {MANIFEST} (not a bundle manifest: {exc})")
        return problems
    present = set(bundle_files(directory))
    for name in sorted(files):
        if not _safe(name):
            problems.append(f"changed: {MANIFEST} (lists a file outside the bundle: {name!r})")
        elif name not in present:
            problems.append(f"removed: {name}")
        elif sha256_file(directory / name) != files[name]:
            problems.append(f"changed: {name}")
    for name in sorted(present - set(files)):
        problems.append(f"added: {name}")
    problems.extend(_consistency(manifest, files))
    return problems


def verify_problem(directory: Path) -> Optional[str]:
    """None when the bundle verifies, else its first problem and how many more: one line for an error message."""
    problems = verify_bundle(directory)
    if not problems:
        return None
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


def tally(records: Iterable[Mapping[str, Any]]) -> Dict[str, int]:
    """The manifest's count of findings by status, and their total."""
    out = {"pass": 0, "fail": 0, "waived": 0, "error": 0}
    total = 0
    for record in records:
        out[record["status"]] = out.get(record["status"], 0) + 1
        total += 1
    out["total"] = total
    return out


def _recorded_manifest_sum(directory: Path, problems: List[str]) -> Optional[str]:
    path = directory / MANIFEST_SUM
    if not path.is_file():
        problems.append(f"removed: {MANIFEST_SUM}")
        return None
    words = path.read_text(encoding="utf-8", errors="replace").split()
    if len(words) != 2 or words[1] != MANIFEST or len(words[0]) != 64:
        problems.append(f"changed: {MANIFEST_SUM} (not '<sha256>  {MANIFEST}')")
        return None
    return words[0].lower()


def _consistency(manifest: Mapping[str, Any], files: Mapping[str, str]) -> List[str]:
    """What the manifest says twice must agree: snapshot and JUnit hashes with the files' hashes."""
    problems = []
    for name, facts in sorted((manifest.get("accounts") or {}).items()):
        snapshot = (facts or {}).get("snapshot")
        if snapshot and files.get(snapshot) != facts.get("snapshot_sha256"):
            problems.append(f"changed: {MANIFEST} (account {name}: snapshot_sha256 is not the hash of {snapshot})")
    junit = manifest.get("junit_xml")
    if junit and files.get(junit.get("file")) != junit.get("sha256"):
        problems.append(f"changed: {MANIFEST} (junit_xml sha256 is not the hash of {junit.get('file')})")
    return problems
