"""The HTML report in a real browser: headless Chromium loads it from a ``file://`` URL; the DOM it built shows the
controls, the counts, the chart and a waived resource, and hostile names stayed text (no element, no script ran)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chromium import dump_dom, find_chromium, screenshot
from pytest_iam.report_html import render_report
from report_dom import Element, parse
from report_samples import IMG_NAME, SCRIPT_NAME, sample
from support import shipped_control_count

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        message = "Chromium is not installed: apt-get install -y chromium (or set PYTEST_IAM_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it (.ci/run): there the browser test always runs
        pytest.skip(message)
    return binary


# A team's standard with waivers on the demo account; the waiver texts are hostile, as any text a person writes may be.
SCRIPT = "<script>document.title='pwned-script'</script>"
IMG = "\"><img src=x onerror=\"document.title='pwned-img'\">"
STANDARD = f"""
standard: acme-keys
controls:
  - {{id: ACME-04, check: iam-access-key-rotation, with: {{max_age_days: 90}}}}
  - {{id: ACME-12, check: iam-user-single-active-key}}
waivers:
  - control: ACME-04
    resources: ["arn:aws:iam::123456789012:user/svc-ci"]
    reason: {json.dumps("key rotation in progress " + SCRIPT)}
    approved_by: security@acme.example
    expires: 2099-01-31
    ticket: {json.dumps("CHG-4411" + IMG)}
  - control: ACME-12
    resources: ["arn:aws:iam::123456789012:user/svc-ci"]
    reason: second key kept during the rotation
    approved_by: security@acme.example
    expires: 2099-01-31
    ticket: CHG-4412
"""


def test_chromium_runs_scripts_of_an_ordinary_page(chromium: str, tmp_path: Path) -> None:
    """The probe works: a page's own script does change the title in the dumped DOM (so 'it did not' means something)."""
    page = tmp_path / "probe.html"
    page.write_text("<!DOCTYPE html><title>before</title><script>document.title='pwned-script'</script>")
    assert parse(dump_dom(chromium, page)).find("title").text == "pwned-script"


def test_demo_bundle_report_in_chromium(chromium: str, pytester: pytest.Pytester) -> None:
    """The bundle of a real run (the shipped CIS standard and a team's own, on the demo account) in Chromium."""
    pytester.makefile(".yaml", iam_acme=STANDARD)
    result = pytester.runpytest_inprocess("--iam-account=demo", "--iam-standard=cis-aws-foundations",
                                          "--iam-evidence", "evidence", "iam_acme.yaml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the demo account has known violations
    bundle = pytester.path / "evidence"
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["report_error"] is None
    dom: Element = parse(dump_dom(chromium, bundle / "report.html"))
    # no script ran, no element came from a hostile text
    title = dom.find("title").text
    assert title == "IAM evidence report: demo"
    assert dom.find_all("script") == [] and dom.find_all("img") == []
    assert not any(key.startswith("on") for element in dom.iter() for key in element.attrs)
    # every control of the run, with the outcome the manifest records
    controls = {(c.attrs["data-standard"], c.attrs["data-control"]): c for c in dom.find_all("article", class_="control")}
    assert set(controls) == {(c["standard"], c["control"]) for c in manifest["controls"]}
    assert len(controls) == shipped_control_count() + 2  # the shipped CIS standard and the team's two controls
    for c in manifest["controls"]:
        assert controls[(c["standard"], c["control"])].attrs["data-outcome"] == c["outcome"]
    assert controls[("acme-keys", "ACME-04")].attrs["data-category"] == "fail"  # bob's key is old too
    assert controls[("acme-keys", "ACME-12")].attrs["data-category"] == "waived"
    # the counts add up, and agree with the manifest
    totals = dom.find("p", class_="totals")
    counts = {key: int(totals.find(data_count=key).text.split()[0])
              for key in ("pass", "fail", "waived", "error", "skipped")}
    # the demo's known verdicts: Access Analyzer cannot be read from the emulator, so that control is an error
    assert counts == {"pass": 3, "fail": 21, "waived": 1, "error": 1, "skipped": 0}
    assert sum(counts.values()) == int(totals.attrs["data-total"]) == len(controls)
    resources = dom.find("article", class_="account-summary", data_account="demo").find("p", class_="resources")
    assert int(resources.attrs["data-total"]) == manifest["findings"]["total"]
    # the chart: an inline SVG with a labelled bar per outcome
    chart = dom.find("svg", data_account="demo")
    bars = {g.attrs["data-category"]: int(g.attrs["data-count"]) for g in chart.find_all("g", class_="bar")}
    assert bars == counts and len(chart.find_all("rect")) == 5
    # a waived resource with its waiver; the hostile texts shown as the characters they are
    waived = controls[("acme-keys", "ACME-04")].find("tr", class_="waived-resource")
    assert "arn:aws:iam::123456789012:user/svc-ci" in waived.text
    assert waived.find("td", class_="waiver-reason").text == "key rotation in progress " + SCRIPT
    assert waived.find("td", class_="ticket").text == "CHG-4411" + IMG
    assert waived.find("td", class_="approved-by").text == "security@acme.example"
    assert waived.find("td", class_="expires").text == "2099-01-31"
    assert "days old" in waived.find("td", class_="reason").text  # why it would fail; the waiver has its own columns
    assert "[waived until" not in waived.find("td", class_="reason").text
    # the file hashes, as the manifest records them
    hashes = dom.find("table", class_="files").text
    # (the page cannot hold its own hash: the manifest, written after it, does)
    assert all(name in hashes and digest in hashes for name, digest in manifest["files"].items() if name != "report.html")
    assert "report.html" in manifest["files"] and "written after this page" in dom.find("section", id="files").text


def test_hand_made_report_with_every_outcome_in_chromium(chromium: str, tmp_path: Path) -> None:
    """Two accounts and a control that could not be evaluated, which the demo run does not have."""
    page = tmp_path / "report.html"
    page.write_text(render_report(*sample()), encoding="utf-8")
    dom = parse(dump_dom(chromium, page))
    assert "pwned" not in dom.find("title").text and not dom.find_all("img") and not dom.find_all("script")
    controls = {(c.attrs["data-account"], c.attrs["data-control"]): c.attrs["data-category"]
                for c in dom.find_all("article", class_="control")}
    assert controls == {("demo", "ACME-04"): "fail", ("demo", "ACME-09"): "waived", ("demo", "ACME-01"): "error",
                        ("demo", "ACME-05"): "pass", ("prod", "ACME-01"): "pass"}
    waived = dom.find("article", data_control="ACME-09").find("tr", class_="waived-resource")
    assert IMG_NAME in waived.text and SCRIPT_NAME in waived.find("td", class_="waiver-reason").text


def test_screenshot_of_the_report(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(*sample()), encoding="utf-8")
    png = screenshot(chromium, page, tmp_path / "report.png", width=1280, height=1600)
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert int.from_bytes(data[16:20], "big") == 1280 and int.from_bytes(data[20:24], "big") == 1600
