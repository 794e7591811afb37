"""The HTML report in a real browser: headless Chromium loads it from a ``file://`` URL; the DOM it built shows the
controls, the counts, the chart and a waived resource, and hostile names stayed text (no element, no script ran)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chromium import dump_dom, find_chromium, screenshot
from pytest_iam.report_html import render_report
from report_dom import Element, parse
from report_samples import IMG_NAME, SCRIPT_NAME, sample

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


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("bundle") / "report.html"
    page.write_text(render_report(*sample()), encoding="utf-8")
    return page


def test_chromium_runs_scripts_of_an_ordinary_page(chromium: str, tmp_path: Path) -> None:
    """The probe works: a page's own script does change the title in the dumped DOM (so 'it did not' means something)."""
    page = tmp_path / "probe.html"
    page.write_text("<!DOCTYPE html><title>before</title><script>document.title='pwned-script'</script>")
    assert parse(dump_dom(chromium, page)).find("title").text == "pwned-script"


def test_report_in_chromium(chromium: str, report: Path) -> None:
    dom: Element = parse(dump_dom(chromium, report))
    # no script ran, no element came from a hostile name
    title = dom.find("title").text
    assert title.startswith("IAM evidence report: ") and "pwned" not in title
    assert dom.find_all("script") == [] and dom.find_all("img") == []
    assert not any(key.startswith("on") for element in dom.iter() for key in element.attrs)
    # the controls
    controls = {(c.attrs["data-account"], c.attrs["data-control"]): c.attrs["data-category"]
                for c in dom.find_all("article", class_="control")}
    assert controls == {("demo", "ACME-04"): "fail", ("demo", "ACME-09"): "waived", ("demo", "ACME-01"): "error",
                        ("demo", "ACME-05"): "pass", ("prod", "ACME-01"): "pass"}
    # the counts, which add up
    totals = dom.find("p", class_="totals")
    counts = {key: int(totals.find(data_count=key).text.split()[0]) for key in ("pass", "fail", "waived", "error")}
    assert counts == {"pass": 2, "fail": 1, "waived": 1, "error": 1}
    assert sum(counts.values()) == int(totals.attrs["data-total"]) == len(controls)
    # the chart: an inline SVG with one labelled bar per outcome
    chart = dom.find("svg", data_account="demo")
    bars = {g.attrs["data-category"]: int(g.attrs["data-count"]) for g in chart.find_all("g", class_="bar")}
    assert bars == {"pass": 1, "fail": 1, "waived": 1, "error": 1}
    assert len(chart.find_all("rect")) == 4 and "could not be evaluated" in chart.text
    # a waived resource with its waiver, and the hostile names shown as text
    waived = dom.find("article", data_control="ACME-09").find("tr", class_="waived-resource")
    assert IMG_NAME in waived.text
    assert SCRIPT_NAME in waived.find("td", class_="waiver-reason").text
    assert waived.find("td", class_="approved-by").text == "ciso@acme.example"
    rotation = dom.find("article", data_control="ACME-04").find("tr", class_="waived-resource")
    assert rotation.find("td", class_="ticket").text == "CHG-4411"


def test_screenshot_of_the_report(chromium: str, report: Path, tmp_path: Path) -> None:
    png = screenshot(chromium, report, tmp_path / "report.png", width=1280, height=1600)
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert int.from_bytes(data[16:20], "big") == 1280 and int.from_bytes(data[20:24], "big") == 1600
