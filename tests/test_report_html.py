"""The HTML report: counts that add up, every control with its evidence, hostile names shown as text, no network."""

from __future__ import annotations

import json
import re

import pytest

from pytest_iam import cli
from pytest_iam.report_html import ReportError, render_report, write_report
from report_dom import Element, parse
from report_samples import IMG_NAME, SCRIPT_NAME, sample, write_bundle


@pytest.fixture(scope="module")
def page() -> Element:
    return parse(render_report(*sample()))


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(*sample())


def _count(element: Element, category: str) -> int:
    return int(element.find(data_count=category).text.split()[0])


def test_summary_counts_add_up_per_account_severity_and_chart(page: Element) -> None:
    summary = page.find("section", id="summary")
    totals = summary.find("p", class_="totals")
    assert int(totals.attrs["data-total"]) == 5
    assert {c: _count(totals, c) for c in ("pass", "fail", "waived", "error")} == \
        {"pass": 2, "fail": 1, "waived": 1, "error": 1}
    demo = summary.find("table", class_="by-severity", data_account="demo")
    rows = [r for r in demo.find_all("tr") if "data-severity" in r.attrs]
    by_severity = {r.attrs["data-severity"]: {c: _count(r, c) for c in ("pass", "fail", "waived", "error", "total")}
                   for r in rows}
    assert by_severity == {
        "critical": {"pass": 0, "fail": 0, "waived": 0, "error": 1, "total": 1},
        "high": {"pass": 1, "fail": 0, "waived": 1, "error": 0, "total": 2},
        "medium": {"pass": 0, "fail": 1, "waived": 0, "error": 0, "total": 1},
        "all": {"pass": 1, "fail": 1, "waived": 1, "error": 1, "total": 4},
    }
    for row in by_severity.values():  # each row adds up to its total
        assert sum(v for k, v in row.items() if k != "total") == row["total"]
    chart = summary.find("svg", data_account="demo")
    bars = {g.attrs["data-category"]: int(g.attrs["data-count"]) for g in chart.find_all("g", class_="bar")}
    assert bars == {"pass": 1, "fail": 1, "waived": 1, "error": 1, "skipped": 0}
    assert "could not be evaluated" in chart.text and "waived" in chart.text  # labels, not colour alone
    prod = summary.find("svg", data_account="prod")
    assert {g.attrs["data-category"]: int(g.attrs["data-count"]) for g in prod.find_all("g", class_="bar")} == \
        {"pass": 1, "fail": 0, "waived": 0, "error": 0, "skipped": 0}
    resources = summary.find("article", data_account="demo").find("p", class_="resources")
    assert resources.attrs["data-total"] == "6"


def test_every_control_with_outcome_frameworks_resources_and_remediation(page: Element) -> None:
    controls = {(c.attrs["data-account"], c.attrs["data-control"]): c for c in page.find_all("article", class_="control")}
    assert set(controls) == {("demo", "ACME-04"), ("demo", "ACME-09"), ("demo", "ACME-01"), ("demo", "ACME-05"),
                             ("prod", "ACME-01")}
    assert {k: c.attrs["data-category"] for k, c in controls.items()} == {
        ("demo", "ACME-04"): "fail", ("demo", "ACME-09"): "waived", ("demo", "ACME-01"): "error",
        ("demo", "ACME-05"): "pass", ("prod", "ACME-01"): "pass"}
    rotation = controls[("demo", "ACME-04")]
    assert rotation.find("span", class_="badge").text == "✗ FAILED"
    assert "cis-aws-foundations-v5.0: 1.13" in rotation.find("dd", class_="frameworks").text
    failed = rotation.find("table", class_="failed")
    assert "arn:aws:iam::123456789012:user/bob" in failed.text and "120 days old" in failed.text
    waived = rotation.find("tr", class_="waived-resource")
    assert [waived.find("td", class_=k).text for k in ("waiver-reason", "approved-by", "expires", "ticket")] == \
        ["CI key rotation in progress", "security@acme.example", "2027-01-31", "CHG-4411"]
    assert "Fix iam-access-key-rotation <by hand>." in rotation.find("p", class_="remediation").text
    assert "New failures: bob" in rotation.find("ul", class_="changes").text
    error = controls[("demo", "ACME-01")]
    assert error.find("span", class_="badge").text == "! COULD NOT BE EVALUATED"
    assert "grant iam:GetCredentialReport" in error.find("p", class_="reason").text
    assert "no user has a console password" in controls[("demo", "ACME-05")].find("p", class_="nothing").text
    assert controls[("demo", "ACME-09")].find("span", class_="badge").text == "≈ WAIVED"
    # failed controls first within an account
    order = [c.attrs["data-category"] for c in page.find_all("article", class_="control", data_account="demo")]
    assert order == ["fail", "error", "waived", "pass"]


def test_hostile_names_are_text(html: str, page: Element) -> None:
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert page.find_all("img") == [] and page.find_all("script") == []
    assert not any(k.startswith("on") for e in page.iter() for k in e.attrs)
    waived = page.find("article", data_control="ACME-09").find("tr", class_="waived-resource")
    assert IMG_NAME in waived.text  # shown, as the text it is
    assert SCRIPT_NAME in waived.find("td", class_="waiver-reason").text
    assert "&lt;script&gt;" in html and "&#34;&gt;&lt;img" in html


def test_self_contained_no_script_and_no_fetch(html: str, page: Element) -> None:
    csp = page.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    for element in page.iter():
        for key in ("src", "srcset", "action", "data"):
            assert key not in element.attrs, element.tag
        if "href" in element.attrs:
            assert element.attrs["href"].startswith("#"), element.attrs["href"]
    assert not re.search(r"url\(|@import|<link", html)
    assert page.find_all("svg")  # the charts are inline


def test_diff_sections_and_no_baseline() -> None:
    manifest, findings, diff = sample()
    changes = parse(render_report(manifest, findings, diff)).find("section", id="changes")
    headings = {h.attrs["data-diff"]: h.text.split(" (")[0] for h in changes.find_all("h3")}
    assert headings == {"new_failures": "New failures: 1", "fixed": "Fixed: 1", "still_failing": "Still failing: 0",
                        "newly_waived": "Newly waived: 1", "waivers_gone": "Waivers gone: 0"}
    assert "dave" in changes.find("table", data_diff="fixed").text
    none = parse(render_report(manifest, findings, None)).find("section", id="changes")
    assert "No baseline was given" in none.text and not none.find_all("table")


def test_file_hashes_and_run_facts(page: Element) -> None:
    files = page.find("table", class_="files")
    assert "snapshots/demo.json" in files.text and "ab" * 32 in files.text
    run = page.find("table", class_="run").text
    assert "2026-03-01T10:00:09+00:00" in run and "pytest --iam-account=demo,prod --iam-evidence out" in run
    assert "arn:aws:iam::123456789012:role/Audit" in page.find("table", class_="accounts").text


def test_secrets_are_masked_and_mismatched_counts_said() -> None:
    manifest, findings, diff = sample()
    findings[0]["reason"] = "key AKIAIOSFODNN7EXAMPLE is old"
    manifest["controls"][0]["evaluated"] = 7
    html = render_report(manifest, findings, diff)
    assert "AKIAIOSFODNN7EXAMPLE" not in html and "AKIA****************" in html
    note = parse(html).find("article", data_control="ACME-04").find("p", class_="mismatch")
    assert "counts 7 evaluated resources, but the findings file holds 3" in note.text


def test_findings_of_a_control_missing_from_the_manifest_are_shown() -> None:
    manifest, findings, diff = sample()
    manifest["controls"] = [c for c in manifest["controls"] if c["control"] != "ACME-04"]
    control = parse(render_report(manifest, findings, diff)).find("article", data_control="ACME-04")
    assert control.attrs["data-category"] == "fail" and "not listed in the manifest" in control.text


def test_write_report_refuses_a_folder_that_is_not_a_bundle(tmp_path) -> None:
    with pytest.raises(ReportError, match=r"manifest.json: not found"):
        write_report(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportError, match=r"manifest.json: cannot be read as JSON"):
        write_report(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(sample()[0]), encoding="utf-8")
    with pytest.raises(ReportError, match=r"findings.ocsf.jsonl: not found"):
        write_report(tmp_path)
    (tmp_path / "findings.ocsf.jsonl").write_text("{not an event}\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"findings.ocsf.jsonl:1: not JSON.*write the bundle again"):
        write_report(tmp_path)


def test_write_report_reads_the_bundle_files(tmp_path, capsys) -> None:
    bundle = write_bundle(tmp_path / "out")
    out = write_report(bundle)
    assert out == bundle / "report.html"
    page = parse(out.read_text(encoding="utf-8"))
    assert len(page.find_all("article", class_="control")) == 5
    assert page.find("table", data_diff="fixed")  # diff.json was read
    waived = page.find("article", data_control="ACME-04").find("tr", class_="waived-resource")
    assert waived.find("td", class_="ticket").text == "CHG-4411"  # the waiver survived the OCSF round trip
    (bundle / "diff.json").unlink()
    assert cli.main(["report", str(bundle)]) == 0
    assert "No baseline was given" in parse((bundle / "report.html").read_text(encoding="utf-8")).find(
        "section", id="changes").text
    assert capsys.readouterr().out.strip() == str(bundle / "report.html")


def test_waivers_to_review_sources_and_the_manifest_tally() -> None:
    manifest, findings, diff = sample()
    manifest["stale_waivers"] = [{"standard": "acme-baseline", "waiver": 2, "control": "ACME-07", "check": None,
                                  "resources": ["arn:aws:iam::123456789012:user/gone"], "reason": "old <b>exception</b>",
                                  "approved_by": "security@acme.example", "expires": "2026-06-30", "ticket": None}]
    manifest["expiring_waivers"] = []
    manifest["standards_and_checks"] = {"iam_acme.yaml": "ef" * 32}
    manifest["findings"] = {"pass": 3, "fail": 1, "waived": 2, "error": 1, "total": 8}
    manifest["versions"] = {"pytest_iam": "0.1.0", "python": "3.11.7"}
    page = parse(render_report(manifest, findings, diff))
    stale = page.find("table", data_review="stale_waivers")
    assert "ACME-07" in stale.text and "arn:aws:iam::123456789012:user/gone" in stale.text
    assert "old <b>exception</b>" in stale.text and not page.find_all("b")
    assert page.find("h3", data_review="expiring_waivers").text.startswith("Waivers that expire soon: 0")
    assert "iam_acme.yaml" in page.find("table", class_="sources").text
    assert "manifest counts 8 findings, but the findings file holds 7" in page.find("p", class_="mismatch").text
    assert "pytest_iam: 0.1.0 python: 3.11.7" in page.find("table", class_="run").text


def test_controls_sort_naturally_within_an_outcome() -> None:
    manifest, findings, diff = sample()
    base = manifest["controls"][0]
    manifest["controls"] = [dict(base, control=c, check=c) for c in ("cis-1.11", "cis-1.3", "cis-1.7-1.8")]
    order = [a.attrs["data-control"] for a in parse(render_report(manifest, [], None)).find_all("article")
             if "control" in a.attrs.get("class", "").split()]
    assert order == ["cis-1.3", "cis-1.7-1.8", "cis-1.11"]


def test_a_control_skipped_on_purpose_is_never_shown_as_passed() -> None:
    manifest, findings, diff = sample()
    skipped = dict(manifest["controls"][0], control="ACME-12", check="iam-user-single-active-key", outcome="skipped",
                   evaluated=0, reason="second keys are managed by the vault team (RISK-12)")
    manifest = dict(manifest, controls=[*manifest["controls"], skipped])
    page = parse(render_report(manifest, findings, diff))
    article = {c.attrs["data-control"]: c for c in page.find_all("article", class_="control")
               if c.attrs["data-account"] == "demo"}["ACME-12"]
    assert article.attrs["data-category"] == "skipped"
    assert "Skipped on purpose by the standard: second keys are managed by the vault team (RISK-12)" in article.text
    assert "Could not be evaluated" not in article.text
    totals = page.find("section", id="summary").find("p", class_="totals")
    assert _count(totals, "skipped") == 1 and _count(totals, "pass") == 2


def test_the_page_written_again_from_an_intact_bundle_is_the_same_bytes_and_a_changed_one_is_not_overwritten(
        tmp_path, capsys) -> None:
    """The page is evidence (its hash is in the manifest): `report` reproduces it exactly, and never replaces it with
    a page that differs."""
    from pytest_iam.bundle import finish_bundle, verify_bundle

    manifest, findings, diff = sample()
    bundle = tmp_path / "out"
    bundle.mkdir()
    finish_bundle(bundle, {k: v for k, v in manifest.items() if k != "files"}, findings, diff=diff)
    written = (bundle / "report.html").read_bytes()
    assert cli.main(["report", str(bundle)]) == 0
    assert (bundle / "report.html").read_bytes() == written
    assert not [p for p in verify_bundle(bundle) if "report.html" in p]  # (the sample names snapshots it lacks)

    changed = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    changed["accounts"]["demo"]["caller_arn"] = "arn:aws:iam::123456789012:user/someone-else"
    (bundle / "manifest.json").write_text(json.dumps(changed), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["report", str(bundle)]) == 2
    assert "the page rendered now would differ from it; write it elsewhere with -o PATH" in capsys.readouterr().err
    assert (bundle / "report.html").read_bytes() == written  # the evidence is untouched
    assert cli.main(["report", str(bundle), "-o", str(tmp_path / "page.html")]) == 0
    assert "someone-else" in (tmp_path / "page.html").read_text(encoding="utf-8")
