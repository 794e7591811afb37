"""The HTML report of an evidence bundle: one self-contained page an auditor opens from a file or a CI artifact.

Usage::

    write_report(Path("out"))   # reads out/manifest.json, out/findings.ocsf.jsonl, out/diff.json -> out/report.html
    html = render_report(manifest, findings, diff)

The page has no script and loads nothing: CSS and the charts (SVG) are inline, and a Content-Security-Policy forbids
scripts and every fetch. It is rendered by Jinja2 with autoescaping on, so a policy, role or tag value holding markup
is shown as text. Every text is masked by :func:`pytest_iam.secrets.redact` on the way out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import jinja2
import markupsafe

from . import __version__
from .checks import SEVERITIES
from .findings import waiver_note
from .ocsf import WAIVER_KEYS
from .secrets import redact

__all__ = ["ReportError", "render_report", "write_report", "CATEGORIES"]

REPORT_NAME = "report.html"

# The ways a control can end, in the order the report lists them. "waived": the control passed only because every
# failing resource is covered by a waiver. "skipped": the standard skips it on purpose, with a reason; never a pass.
CATEGORIES = ("fail", "error", "waived", "skipped", "pass")
SUMMARY_ORDER = ("pass", "fail", "waived", "error", "skipped")
CATEGORY_WORDS = {"pass": "passed", "fail": "failed", "waived": "waived", "error": "could not be evaluated",
                  "skipped": "skipped on purpose"}
CATEGORY_MEANING = {
    "pass": "every resource in scope was judged and nothing is wrong",
    "fail": "at least one resource is wrong and not waived",
    "waived": "passed only because every failing resource is covered by an approved waiver",
    "error": "the facts the control needs could not be read, so it was not judged",
    "skipped": "the standard skips this control on purpose, for the reason shown; it was not judged",
}
FINDING_WORDS = {"pass": "passed", "fail": "failed", "waived": "waived", "error": "could not be evaluated"}
DIFF_SECTIONS = (
    ("new_failures", "New failures", "failing now, not failing in the baseline"),
    ("fixed", "Fixed", "failing in the baseline, not failing now"),
    ("still_failing", "Still failing", "failing in the baseline and now"),
    ("newly_waived", "Newly waived", "waived now, not waived in the baseline"),
    ("waivers_gone", "Waivers gone", "waived in the baseline, no longer waived now"),
)
# Manifest entries the page shows in their own places; every other one is listed under "The run".
_RUN_SKIP = {"controls", "accounts", "files", "standards_and_checks", "stale_waivers", "expiring_waivers", "findings",
             "report_error"}
WAIVER_REVIEWS = (
    ("stale_waivers", "Waivers that matched no resource", "no finding of this run was covered by them"),
    ("expiring_waivers", "Waivers that expire soon", "after the expiry day the resources they cover fail again"),
)


class ReportError(Exception):
    """A folder that is not an evidence bundle (message: the file and what to do)."""


def _text(value: Any) -> Any:
    """Jinja's finalize: every value printed into the page is masked; numbers stay numbers, and the template's own
    markup (a macro's output, whose values were masked when it was rendered) is left as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return redact(value)
    return value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_iam", "templates"),
        autoescape=True,
        finalize=_text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _plain(value: Any) -> str:
    """A manifest value as one line of text: strings as they are, lists joined, the rest as JSON."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    return json.dumps(value, sort_keys=True)


_RECORD_KEYS = ("account", "account_id", "standard", "control", "check", "title", "severity", "status", "resource",
                "label", "reason", "remediation", "time")
_FACT_KEYS = ("account_id", "caller_arn", "collected_at", "api_calls", "snapshot", "snapshot_sha256")


def _record(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A finding or diff entry with every field the page shows (missing ones empty)."""
    out = dict(record)
    for key in _RECORD_KEYS:
        out[key] = "" if out.get(key) is None else out[key]
    waiver = out.get("waiver")
    if isinstance(waiver, Mapping):
        out["waiver"] = {k: "" if waiver.get(k) is None else waiver[k] for k in WAIVER_KEYS}
        # a waived finding's reason ends with its waiver in words; the page shows the waiver in its own columns
        suffix = waiver_note(out["waiver"]["expires"], out["waiver"]["approved_by"], out["waiver"]["reason"])
        if isinstance(out["reason"], str) and out["reason"].endswith(suffix):
            out["reason"] = out["reason"][:-len(suffix)]
    else:
        out["waiver"] = None
    return out


def _fact(value: Any) -> Any:
    """A manifest value for the run table: a flat mapping as (key, text) pairs, anything else as one line."""
    if isinstance(value, Mapping) and value:
        return [(str(k), _plain(v)) for k, v in value.items()]
    return _plain(value)


def _natural(text: str) -> Tuple[Any, ...]:
    """Sort key that puts cis-1.3 before cis-1.11."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def _waiver_rows(entries: Any) -> List[Dict[str, str]]:
    keys = ("standard", "control", "check", "resources", "reason", "approved_by", "expires", "ticket")
    return [{k: _plain(e.get(k)) if e.get(k) is not None else "" for k in keys}
            for e in entries or [] if isinstance(e, Mapping)]


def _key(record: Mapping[str, Any]) -> Tuple[str, str, str]:
    return (str(record.get("account", "")), str(record.get("standard", "")), str(record.get("control", "")))


def _category(outcome: str, counts: Mapping[str, int]) -> str:
    if outcome == "error":
        return "error"
    if outcome == "fail":
        return "fail"
    if outcome == "skipped":
        return "skipped"
    return "waived" if counts.get("waived") else "pass"


def _frameworks(value: Any) -> List[Tuple[str, str]]:
    if not isinstance(value, Mapping):
        return []
    return [(str(name), ", ".join(str(i) for i in (ids or []))) for name, ids in sorted(value.items())]


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _controls(manifest: Mapping[str, Any], findings: Iterable[Mapping[str, Any]],
              diff: Optional[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    by_control: Dict[Tuple[str, str, str], List[Mapping[str, Any]]] = defaultdict(list)
    for record in findings:
        by_control[_key(record)].append(record)
    changes: Dict[Tuple[str, str], Dict[str, List[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name, _, _ in DIFF_SECTIONS:
        for entry in (diff or {}).get(name) or []:
            changes[(str(entry.get("account", "")), str(entry.get("control", "")))][name].append(_record(entry))

    rows = [dict(c) for c in manifest.get("controls") or []]
    known = {_key(c) for c in rows}
    for key, records in by_control.items():  # findings of a control the manifest does not list: shown, and said so
        if key not in known:
            first = records[0]
            statuses = {r.get("status") for r in records}
            outcome = "fail" if "fail" in statuses else "error" if "error" in statuses else "pass"
            rows.append({**{k: first.get(k) for k in ("account", "account_id", "standard", "control", "check", "title",
                                                     "severity", "frameworks", "remediation")},
                         "outcome": outcome, "evaluated": len(records), "nothing_to_evaluate": None, "reason": None,
                         "not_in_manifest": True})

    controls = []
    for number, row in enumerate(rows, 1):
        records = by_control.get(_key(row), [])
        mine = changes.get((str(row.get("account", "")), str(row.get("control", ""))), {})
        counts = {status: sum(1 for r in records if r.get("status") == status) for status in FINDING_WORDS}
        evaluated = row.get("evaluated")
        evaluated = evaluated if isinstance(evaluated, int) else len(records)
        outcome = str(row.get("outcome") or "error")
        category = _category(outcome, counts)
        controls.append({
            "anchor": f"control-{number}",
            "account": str(row.get("account", "")),
            "account_id": str(row.get("account_id") or ""),
            "standard": str(row.get("standard") or ""),
            "control": str(row.get("control") or ""),
            "check": str(row.get("check") or ""),
            "title": str(row.get("title") or ""),
            "severity": str(row.get("severity") or "info"),
            "frameworks": _frameworks(row.get("frameworks")),
            "remediation": str(row.get("remediation") or ""),
            "outcome": outcome,
            "category": category,
            "evaluated": evaluated,
            "found": len(records),
            "mismatch": evaluated != len(records),
            "nothing_to_evaluate": row.get("nothing_to_evaluate"),
            "reason": row.get("reason"),
            "not_in_manifest": bool(row.get("not_in_manifest")),
            "counts": counts,
            "failed": sorted((r for r in records if r.get("status") == "fail"), key=lambda r: str(r.get("resource"))),
            "waived": sorted((r for r in records if r.get("status") == "waived"), key=lambda r: str(r.get("resource"))),
            "errors": sorted((r for r in records if r.get("status") == "error"), key=lambda r: str(r.get("resource"))),
            "changes": [(title, mine[name]) for name, title, _ in DIFF_SECTIONS if mine.get(name)],
        })
    controls.sort(key=lambda c: (c["account"], CATEGORIES.index(c["category"]), _severity_rank(c["severity"]),
                                 _natural(c["standard"]), _natural(c["control"])))
    return controls


def _bars(counts: Mapping[str, int]) -> List[Dict[str, Any]]:
    """The rows of an account's bar chart, with widths in SVG units (the widest bar is 200)."""
    top = max(counts.values()) if counts else 0
    return [{"category": cat, "label": CATEGORY_WORDS[cat], "count": counts.get(cat, 0),
             "width": round(200 * counts.get(cat, 0) / top, 1) if top else 0, "y": 6 + 26 * i}
            for i, cat in enumerate(SUMMARY_ORDER)]


def _accounts(manifest: Mapping[str, Any], controls: List[Dict[str, Any]],
              findings: List[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    facts = manifest.get("accounts") or {}
    names = sorted(set(facts) | {c["account"] for c in controls})
    accounts = []
    for name in names:
        mine = [c for c in controls if c["account"] == name]
        by_severity = []
        for severity in list(SEVERITIES) + sorted({c["severity"] for c in mine} - set(SEVERITIES)):
            row = {cat: sum(1 for c in mine if c["severity"] == severity and c["category"] == cat) for cat in CATEGORIES}
            total = sum(row.values())
            if total:
                by_severity.append({"severity": severity, "counts": row, "total": total})
        totals = {cat: sum(1 for c in mine if c["category"] == cat) for cat in CATEGORIES}
        resource_counts = {status: sum(1 for r in findings if r.get("account") == name and r.get("status") == status)
                           for status in FINDING_WORDS}
        info = {k: ("" if (facts.get(name) or {}).get(k) is None else facts[name][k]) for k in _FACT_KEYS}
        ident = info.get("account_id") or next((c["account_id"] for c in mine if c["account_id"]), "")
        accounts.append({
            "name": name, "account_id": ident, "facts": info, "controls": mine, "by_severity": by_severity,
            "totals": totals, "total": len(mine), "bars": _bars(totals), "resources": resource_counts,
            "resources_total": sum(resource_counts.values()),
        })
    return accounts


def render_report(manifest: Mapping[str, Any], findings: List[Mapping[str, Any]],
                  diff: Optional[Mapping[str, Any]]) -> str:
    """The report page for one bundle's manifest, findings and (when a baseline was given) diff."""
    findings = [_record(r) for r in findings]
    controls = _controls(manifest, findings, diff)
    accounts = _accounts(manifest, controls, findings)
    totals = {cat: sum(a["totals"][cat] for a in accounts) for cat in CATEGORIES}
    run = [(key, _fact(value)) for key, value in manifest.items() if key not in _RUN_SKIP]
    tally = manifest.get("findings")
    tally_total = tally.get("total") if isinstance(tally, Mapping) else None
    reviews = [{"name": name, "title": title, "meaning": meaning, "entries": _waiver_rows(manifest.get(name))}
               for name, title, meaning in WAIVER_REVIEWS if name in manifest]
    diff_sections = None
    if diff is not None:
        diff_sections = [{"name": name, "title": title, "meaning": meaning, "entries": [_record(e) for e in diff.get(name) or []]}
                         for name, title, meaning in DIFF_SECTIONS]
    template = _environment().get_template("report.html")
    return template.render(
        accounts=accounts, totals=totals, total=sum(totals.values()), run=run, diff=diff,
        baseline=_plain((diff or {}).get("baseline")), diff_sections=diff_sections,
        # the page never lists itself: its hash is in the manifest, written after it. So the page rendered again from
        # an intact bundle is the same bytes, and `pytest-iam report` leaves the bundle verifying.
        files=sorted((name, digest) for name, digest in (manifest.get("files") or {}).items() if name != REPORT_NAME),
        sources=sorted((manifest.get("standards_and_checks") or {}).items()),
        reviews=reviews, findings_total=len(findings),
        tally_mismatch=tally_total is not None and tally_total != len(findings), tally_total=tally_total,
        categories=CATEGORIES, order=SUMMARY_ORDER, words=CATEGORY_WORDS,
        meanings=CATEGORY_MEANING, finding_words=FINDING_WORDS, version=__version__,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: not found; give the folder an --iam-evidence run wrote") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot be read as JSON ({exc}); write the bundle again with --iam-evidence") from None


def _read_bundle(bundle_dir: Path) -> Tuple[Any, List[Dict[str, Any]], Any]:
    """A bundle's manifest, findings and diff (None when there is none): what its page is rendered from."""
    manifest = _read_json(bundle_dir / "manifest.json")
    findings_path = bundle_dir / "findings.ocsf.jsonl"
    if not findings_path.exists():
        raise ReportError(f"{findings_path}: not found; give the folder an --iam-evidence run wrote")
    from .ocsf import OcsfError, read_findings  # the bundle's own reader of its findings file

    try:
        findings = read_findings(findings_path)
    except OcsfError as exc:
        raise ReportError(f"{exc}; write the bundle again with --iam-evidence") from None
    diff_path = bundle_dir / "diff.json"
    diff = _read_json(diff_path) if diff_path.exists() else None
    return manifest, findings, diff


def write_report(bundle_dir: Path, out: Optional[Path] = None) -> Path:
    """Write the bundle's page to ``out`` (default ``bundle_dir/report.html``).

    The page inside a bundle is evidence: its hash is in the manifest. Rendered again from an intact bundle, it is the
    same bytes as the page the run wrote; written there again, it must be those very bytes or be missing. A page that
    would differ (a bundle from another version, a changed file) is refused with a ReportError, and can be written
    elsewhere with ``out``.
    """
    bundle_dir = Path(bundle_dir)
    manifest, findings, diff = _read_bundle(bundle_dir)
    data = render_report(manifest, findings, diff).encode("utf-8")
    target = Path(out) if out is not None else bundle_dir / REPORT_NAME
    if out is None and target.exists():
        recorded = (manifest.get("files") or {}).get(REPORT_NAME)
        if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
            raise ReportError(f"{target}: the bundle's page is evidence (its SHA-256 is in the manifest) and the page "
                              "rendered now would differ from it; write it elsewhere with -o PATH")
    target.write_bytes(data)
    return target
