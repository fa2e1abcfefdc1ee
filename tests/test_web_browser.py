"""The web app end to end in a real browser: system chromium, headless, through Selenium, against
the app in real waitress on 127.0.0.1. An editor logs in, filters by region, searches an Urdu word,
picks a story with a note and finds it in picks/<section>.atom; axe-core checks the front page and
the desk (no serious or critical violations); the phone view (390 px) does not scroll sideways.

Screenshots go to the test's tmp dir, and to docs/screenshots/ with UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from aggregator.config import load_config
from aggregator.store import Store
from aggregator.web import create_app
from conftest import ATOM_NS, REPO, TESTS
from feedserver import FeedServer
from websetup import EDITOR, PASSWORD, SECTION, build_site

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
AXE = TESTS / "js" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Debian's chromium and chromium-driver"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    import waitress

    with FeedServer() as feeds:
        config = build_site(tmp_path, feeds)
    config = load_config(config.path)
    with Store.open(config.database) as store:
        app = create_app(config, store)
        wsgi = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, ident="aggregator")
        thread = threading.Thread(target=wsgi.run, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{wsgi.effective_port}", (config, store)
        finally:
            wsgi.close()
            thread.join(5)


@pytest.fixture
def browser() -> Iterator[Any]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--force-device-scale-factor=1", "--lang=en-GB"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")


def _axe(driver: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (axe injected from tests/js)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/js` (or bash .ci/install-test-tools.sh)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result if v.get("impact") in ("serious", "critical")
    ]


def _wait(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def test_an_editor_filters_searches_picks_and_finds_the_pick_in_the_section_feed(
    server: tuple[str, Any], browser: Any, tmp_path: Path
) -> None:
    base, (config, store) = server
    browser.get(base + "/")
    _wait(browser, "article.story")
    assert browser.title == config.title
    _shot(browser, tmp_path, "front")
    assert _axe(browser) == []
    # The checker itself works: an image without a text alternative is a critical violation.
    browser.execute_script("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/none.png\">')")
    assert "image-alt" in {v["id"] for v in _axe(browser)}

    # Keyboard: the first Tab reaches the skip link, which leads to the main landmark.
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("class") == "skip"

    browser.get(base + "/login")
    browser.find_element(By.ID, "name").send_keys(EDITOR)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/desk"))

    browser.get(base + "/")
    Select(browser.find_element(By.ID, "f-region")).select_by_value("asia")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: "region=asia" in d.current_url)
    _wait(browser, "article.story")
    langs = {a.get_attribute("lang") for a in browser.find_elements(By.CSS_SELECTOR, "article.story")}
    assert langs and langs <= {"ur", "hi", "ta"}

    box = browser.find_element(By.ID, "site-q")
    box.clear()
    box.send_keys("ہڑتال\n")
    WebDriverWait(browser, 15).until(lambda d: "/search" in d.current_url)
    _wait(browser, "article.story")
    titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "article.story .title")]
    assert "لاہور میں صفائی کارکنوں کی ہڑتال" in titles
    _shot(browser, tmp_path, "search-urdu")

    article = browser.find_elements(By.CSS_SELECTOR, "article.story")[titles.index("لاہور میں صفائی کارکنوں کی ہڑتال")]
    story_id = int(article.get_attribute("aria-labelledby").split("-")[1])
    browser.get(f"{base}/story/{story_id}")
    _wait(browser, "#story-title")
    note = browser.find_element(By.ID, f"note-{story_id}")
    note.send_keys("Lead story for Monday: the Lahore sanitation strike")
    browser.find_element(By.CSS_SELECTOR, f"form.pick button[value='{story_id}']").click()
    flash = _wait(browser, ".flash")
    assert f"Story s{story_id} picked for {SECTION}" in flash.text
    _shot(browser, tmp_path, "story")

    # The desk's publisher thread writes the section's feed moments after the pick is saved.
    story = store.story(story_id)
    deadline = time.monotonic() + 15
    while True:
        feed = httpx.get(f"{base}/picks/{SECTION}.atom", timeout=10)
        assert feed.status_code == 200 and feed.headers["content-type"] == "application/atom+xml"
        entries = etree.fromstring(feed.content).findall(f"{ATOM_NS}entry")
        if (entries and entries[0].findtext(f"{ATOM_NS}id") == story.atom_id) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert entries and entries[0].findtext(f"{ATOM_NS}id") == story.atom_id
    assert "Lead story for Monday: the Lahore sanitation strike" in (entries[0].findtext(f"{ATOM_NS}content") or "")

    browser.get(base + "/desk")
    _wait(browser, "ol.picks")
    assert "Lead story for Monday" in browser.find_element(By.CSS_SELECTOR, "ol.picks").text
    _shot(browser, tmp_path, "desk")
    assert _axe(browser) == []

    browser.set_window_size(390, 844)
    browser.get(base + "/")
    _wait(browser, "article.story")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the phone view scrolls sideways ({width} px)"
    _shot(browser, tmp_path, "phone")
    assert _axe(browser) == []
