"""The dashboard in a real browser (Playwright driving Debian's chromium, headless):
every page loads with no console error or CSP violation, every chart draws marks, and
``<script>`` stored as user data stays text. A screenshot of each page is saved in the
test's folder and, when FLEETWISE_SCREENSHOTS names a folder, copied there."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from web_seed import EVIL, seed

from fleetwise.present.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Page and how many charts it draws from the seeded store.
PAGES = {
    "/overview": 1,
    "/ledger": 2,
    "/benchmarks": 1,
    "/diagnosis": 0,
    "/plan": 0,
    "/capacity": 2,
    "/process": 2,
    "/retros": 0,
    "/alignment": 0,
    "/people": 1,
}

TOKEN = "browser-token"

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing (CI must run the browser tests)", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    url = seed(tmp_path_factory.mktemp("browser") / "fleetwise.db")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(url, token=TOKEN), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _screenshot_folder() -> Path | None:
    raw = os.environ.get("FLEETWISE_SCREENSHOTS")
    if not raw:
        return None
    folder = Path(raw)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("path", list(PAGES))
def test_page_loads_clean_and_draws_its_charts(
    browser: Any, base_url: str, path: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"dialog opened: {d.message}"))
    response = page.goto(base_url + path)
    assert response is not None and response.status == 200
    charts = PAGES[path]
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-chart][data-rendered]').length >= n",
            arg=charts,
            timeout=20_000,
        )
    states = page.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.rendered)")
    assert states == ["true"] * charts
    # Marks drawn: each chart's SVG holds Vega mark groups with shapes in them.
    marks = page.eval_on_selector_all(
        "[data-chart] svg",
        "svgs => svgs.map(s => s.querySelectorAll('g.mark-line path, g.mark-area path,"
        " g.mark-rect path, g.mark-symbol path, g.mark-rule line, g.mark-tick path').length)",
    )
    assert len(marks) == charts and all(m > 0 for m in marks), marks
    shot = tmp_path / f"{path.strip('/')}.png"
    page.screenshot(path=str(shot), full_page=True)
    folder = _screenshot_folder()
    if folder is not None:
        shutil.copy(shot, folder / shot.name)
    page.close()
    assert problems == []


def test_stored_script_stays_text(browser: Any, base_url: str) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ("/benchmarks", "/plan", "/retros"):
        page.goto(base_url + path)
        assert EVIL in page.inner_text("main")
    page.wait_for_timeout(200)
    assert dialogs == []
    page.close()


def test_decision_form_sends_the_token(browser: Any, base_url: str) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(base_url + "/plan")
    form = page.locator("#decide")
    form.locator("[name=action_id]").fill("3")
    form.locator("[name=decision]").select_option("reject")
    form.locator("[name=by]").fill("steering committee")
    form.locator("[name=token]").fill("wrong")
    form.locator("button").click()
    # Playwright's own assertion polls without evaluating a string in the page (the
    # dashboard's CSP forbids eval, and wait_for_function with a string needs it).
    expect(form.locator("output")).to_contain_text("Bearer", timeout=20_000)
    problems.clear()  # the browser logs the refused request (401) as an error
    form.locator("[name=token]").fill(TOKEN)
    with page.expect_navigation():
        form.locator("button").click()
    assert "steering committee" in page.inner_text("main")
    assert problems == []
    page.close()


def test_process_page_shows_the_value_stream_map(browser: Any, base_url: str) -> None:
    """The stored process map: its ladder chart draws one bar per step and part (wait,
    active), the constraint is named, and the step table lists each step. No seeded action
    moves a step KPI, so the chart has the current state alone."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base_url + "/process")
    chart = page.locator("[data-chart=chart-valuestream]")
    expect(chart).to_have_attribute("data-rendered", "true", timeout=20_000)
    bars = chart.locator("g.mark-rect path")
    assert bars.count() == 6 * 2  # six steps x (wait, active)
    section = page.locator("table.value-stream")
    expect(section.locator("tr.constraint")).to_contain_text("training-eval")
    assert section.locator("tbody tr").count() == 6
    assert "constraint (longest wait)" in page.inner_text("main")
    page.close()


def test_alignment_page_shows_grid_stances_objections_and_comms(
    browser: Any, base_url: str
) -> None:
    """The seeded register (tests/data/alignment): the grid puts each person in a quadrant,
    the stance table shows Omar Haddad moving from opposed to neutral at the meeting, the
    open objection is listed, the approved action's messages are planned, and the
    stakeholder named ``<script>`` stays text."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: problems.append(f"dialog opened: {d.message}"))
    page.goto(base_url + "/alignment")
    grid = page.locator("#stakeholder-grid")
    expect(grid).to_contain_text("manage closely")
    assert "Omar Haddad" in grid.locator("td", has_text="manage closely").inner_text()
    assert "Priya Raman" in grid.locator("td", has_text="keep satisfied").inner_text()
    row = page.locator("#stances tr", has_text="Omar Haddad")
    assert row.locator(".stance-opposed").count() == 1
    assert row.locator(".stance-neutral").count() == 1
    objections = page.locator("#open-objections tbody tr")
    assert objections.count() == 1
    expect(objections).to_contain_text("Will two workers starve the bigger jobs?")
    assert page.locator("#comms-plan tbody tr").count() >= 3
    assert EVIL in grid.inner_text()  # shown as text, never run
    assert problems == []
    page.close()


def test_people_page_draws_each_wave_and_lists_the_themes(browser: Any, base_url: str) -> None:
    """The survey chart draws a dot and a CI rule per construct and wave (5 x 2), the
    comparison says plainly where nothing changed, and the themes table counts the notes."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base_url + "/people")
    chart = page.locator("[data-chart=chart-constructs]")
    expect(chart).to_have_attribute("data-rendered", "true", timeout=20_000)
    assert chart.locator("g.mark-symbol.role-mark path").count() == 5 * 2
    assert chart.locator("g.mark-rule.role-mark line").count() == 5 * 2
    expect(page.locator("#comparisons")).to_contain_text("no detectable change")
    flaky = page.locator("#themes tr", has_text="#flaky-tests")
    expect(flaky).to_contain_text("finding:delivery.flaky_job")
    assert EVIL in page.inner_text("main")  # the focus group's team, shown as text
    page.close()
