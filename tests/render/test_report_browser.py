"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver`` packages,
which .ci/run installs when it can), driven with Selenium (the ``browser`` extra). The page must log no console
error, every chart must have a non-zero size, and clicking a header must sort the table. A screenshot of the page
is kept at tests/artifacts/report.png (not committed); the test prints its path. Skips when Chromium, its driver
or Selenium is missing."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

webdriver = pytest.importorskip("selenium.webdriver")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)")

#: the numbers of each column of the first network's layer table, top to bottom, as the page shows them now
COLUMN = """
const table = document.querySelectorAll("section.network")[0].querySelectorAll("table.sortable")[1];
const index = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent === arguments[0]);
return Array.from(table.tBodies[0].rows).map(row => row.cells[index].getAttribute("data-v") ?? row.cells[index].textContent);
"""
CLICK = """
const table = document.querySelectorAll("section.network")[0].querySelectorAll("table.sortable")[1];
Array.from(table.tHead.rows[0].cells).find(th => th.textContent === arguments[0]).click();
"""
SIZES = """
return Array.from(document.querySelectorAll("svg.chart, figure")).map(e => {
  const r = e.getBoundingClientRect(); return [e.tagName, r.width, r.height]; });
"""


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1500,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def severe(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_report_in_headless_chromium(browser, tmp_path):
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "resnet18", "mobilenet_v2", "--device", "a100", "-o", str(page)])
    assert result.exit_code == 0, result.output
    browser.get(page.as_uri())

    assert severe(browser) == []                            # no console error while loading and running the page
    browser.execute_script("console.error('probe')")        # and the check sees one when there is one
    assert [e["message"] for e in severe(browser)][-1].endswith('"probe"')

    sizes = browser.execute_script(SIZES)
    charts = [s for s in sizes if s[0].lower() == "svg"]
    assert len(charts) == 2 + 2 * 6                          # the comparison's 2, then 6 per network
    assert all(width > 0 and height > 0 for _, width, height in sizes), sizes

    macs = lambda: [int(v) for v in browser.execute_script(COLUMN, "MACs")]  # noqa: E731
    names = lambda: browser.execute_script(COLUMN, "Layer")  # noqa: E731
    assert names()[0] == "conv1"
    browser.execute_script(CLICK, "MACs")
    assert macs() == sorted(macs())                          # ascending
    browser.execute_script(CLICK, "MACs")
    assert macs() == sorted(macs(), reverse=True)            # then descending
    assert names()[0] == "conv1" and macs()[0] == 118_013_952  # 64·112·112·3·7·7: ResNet-18's largest layer
    assert names()[1] != "bn1"                               # the order did change: bn1 follows conv1 in the net
    browser.execute_script(CLICK, "#")
    assert names()[:2] == ["conv1", "bn1"]                   # back in network order

    ARTIFACTS.mkdir(exist_ok=True)
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path = ARTIFACTS / "report.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.read_bytes()[:4] == b"\x89PNG"
    print(f"screenshot of the report: {path}")
    assert severe(browser) == []
