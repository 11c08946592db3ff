"""The web pages in a real headless browser (Debian's chromium through chromium-driver and
Selenium), against `marketplace serve` with its embedded defaults, so orders really run as local
processes through the worker: sign in, search, open a service, a wrong value refused at its
field, a good order followed to `succeeded` without reloading, another cancelled, a product
downloaded; then axe-core (vendored, tests/app/web/vendor) on the catalogue, service, order and
my-orders pages. With MARKETPLACE_WRITE_SCREENSHOTS=1 (`make screenshots`) the screenshots the
README shows are written to app/web/static/screenshots/."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.serving import Api, Process, clean_environment, free_port, token_for, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser: install Debian's chromium and chromium-driver (.ci/run does)")

ROOT = Path(__file__).resolve().parents[3]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOTS = ROOT / "app" / "web" / "static" / "screenshots"

WORDS = {
    "name": "Word count", "description": "Counts the words of a text and leaves the count in a file.",
    "provider-id": "urn:acme:provider:text", "account-id": "urn:acme:account:text", "tags": ["text", "demo"],
    "metadata": [{"name": "domain", "value": "language"}],
    "references": [{"title": "How it counts", "uri": "https://example.org/wc"}],
    "parameters": [
        {"name": "text", "type": "string", "label": "Text", "help": "The words to count."},
        {"name": "copies", "type": "int", "label": "Copies", "default": "1", "unit": "times",
         "help": "How many times the text is counted."},
        {"name": "mode", "type": "option", "default": "words",
         "options": [{"value": "words", "description": "split on spaces"}, {"value": "letters"}]},
    ],
    # The values come as arguments: --text T --copies N --mode M.
    "workflow": {"type": "basic", "basic": {"image": "python:3.11-slim", "command": [
        "python3", "-c",
        "import os, sys; text, copies = sys.argv[2], int(sys.argv[4]); n = len(text.split()) * copies; "
        "print(n); open(os.path.join(os.environ['MARKETPLACE_OUTPUTS_DIR'], 'count.txt'), 'w').write(f'{n} words')"]}},
}
SLEEPER = {
    "name": "Sleeper", "description": "Waits a long time: an order to cancel.",
    "provider-id": "urn:acme:provider:text", "account-id": "urn:acme:account:text", "tags": ["demo"],
    "parameters": [{"name": "seconds", "type": "int", "default": "300", "unit": "s"}],
    "workflow": {"type": "basic", "basic": {"image": "python:3.11-slim", "command": [
        "python3", "-c", "import sys, time; print('sleeping', flush=True); time.sleep(int(sys.argv[2]))"]}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`marketplace serve` (API, pages and worker in one process) with two ready services."""
    data_dir = tmp_path_factory.mktemp("web-browser")
    env = clean_environment(data_dir)
    base = f"http://127.0.0.1:{free_port()}"
    process = Process(["serve", "--port", base.rsplit(":", 1)[1]], env, data_dir, data_dir / "serve.log").start()
    try:
        api = Api(base, token_for("alice", env, data_dir))
        wait_until(api.answers, 60, "the server to answer")
        for service_id, description in (("urn:acme:service:wc", WORDS), ("urn:acme:service:sleeper", SLEEPER)):
            status, body = api.call("PUT", f"/1/services/{service_id}?force-create=true", description)
            assert status in (200, 201), body
            wait_until(lambda sid=service_id: api.call("GET", f"/1/services/{sid}")[1]["status"] == "ready", 60,
                       f"{service_id} to be ready")
        yield {"base": base, "env": env, "dir": data_dir, "api": api,
               "token": token_for("bob", env, data_dir)}
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--lang=en-GB", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def by_css(driver, selector):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, selector)


def shown_status(driver) -> str | None:
    """The order page's status, read again if the live redraw replaced the element meanwhile."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return by_css(driver, "#order-status").get_attribute("data-status")
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def wait_for(driver, selector, seconds=30):
    from selenium.common.exceptions import NoSuchElementException

    def found():
        try:
            return by_css(driver, selector)
        except NoSuchElementException:
            return None
    return wait_until(found, seconds, f"{selector} on {driver.current_url}")


def screenshot(driver, name: str, tmp: Path) -> None:
    driver.save_screenshot(str(tmp / f"{name}.png"))
    if os.environ.get("MARKETPLACE_WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / f"{name}.png", SCREENSHOTS / f"{name}.png")


def serious_violations(driver) -> list[dict]:
    """axe-core's serious and critical violations on the page shown (WCAG 2.1 A and AA rules)."""
    driver.execute_script(AXE.read_text())
    driver.set_script_timeout(60)
    violations = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
        " 'best-practice']}, resultTypes: ['violations']}).then(r => done(r.violations), e => done([{id: 'axe',"
        " impact: 'critical', help: String(e)}]));")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n.get("target") for n in v.get("nodes", [])][:3]}
            for v in violations if v["impact"] in ("serious", "critical")]


def sign_in(driver, base: str, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/orders")
    assert "/sign-in" in driver.current_url
    by_css(driver, "#token").send_keys(token)
    by_css(driver, "form.stack button[type=submit]").click()
    wait_until(lambda: driver.current_url == base + "/orders", 10, "back at the page asked for")


def test_a_person_finds_a_service_orders_it_and_follows_the_order(server, browser, tmp_path):
    base = server["base"]
    sign_in(browser, base, server["token"])

    # Search the catalogue.
    browser.get(base + "/")
    by_css(browser, "#q").send_keys("words")
    by_css(browser, "form.search button[type=submit]").click()
    wait_for(browser, ".cards")
    titles = [card.text for card in browser.find_elements("css selector", ".card h2")]
    assert titles == ["Word count"]
    browser.get(base + "/")
    screenshot(browser, "catalogue", tmp_path)
    browser.get(base + "/?q=words")
    by_css(browser, ".card h2 a").click()
    wait_for(browser, "#order-heading")
    assert by_css(browser, "h1").text == "Word count"

    # A wrong value: refused beside its field, keeping what was typed.
    by_css(browser, "#field-param-text").send_keys("to be or not")
    copies = by_css(browser, "#field-param-copies")
    copies.clear()
    copies.send_keys("1.5")
    by_css(browser, "button[value=order]").click()
    error = wait_for(browser, "#field-param-copies-error")
    assert "is not an int" in error.text
    assert by_css(browser, "#field-param-copies").get_attribute("value") == "1.5"
    assert by_css(browser, "#field-param-copies").get_attribute("aria-invalid") == "true"
    assert by_css(browser, "#field-param-text").get_attribute("value") == "to be or not"

    # A good one: its page follows it to the end without being reloaded.
    copies = by_css(browser, "#field-param-copies")
    copies.clear()
    copies.send_keys("2")
    screenshot(browser, "service", tmp_path)
    by_css(browser, "button[value=order]").click()
    wait_for(browser, "#order-status")
    assert "/orders/urn:marketplace:order:" in browser.current_url
    browser.execute_script("window.notReloaded = true;")
    wait_until(lambda: shown_status(browser) == "succeeded", 90,
               "the order page to show succeeded")
    assert browser.execute_script("return window.notReloaded === true;"), "the page was reloaded"
    assert "[main] 8" in by_css(browser, "pre.logs").text  # 4 words, twice
    screenshot(browser, "order", tmp_path)

    # Download the product.
    link = by_css(browser, ".products a")
    assert link.text == "count.txt"
    link.click()
    downloaded = wait_until(lambda: list(browser.downloads.glob("count*.txt")), 30, "the download")
    assert downloaded[0].read_text() == "8 words"

    # It is among my orders.
    browser.get(base + "/orders")
    assert "succeeded" in by_css(browser, "table.orders").text


def test_a_person_cancels_an_order(server, browser):
    base = server["base"]
    sign_in(browser, base, server["token"])
    browser.get(base + "/services/urn:acme:service:sleeper")
    by_css(browser, "button[value=order]").click()
    wait_for(browser, "#order-status")
    wait_until(lambda: shown_status(browser) == "executing", 60,
               "the order to run")
    by_css(browser, "button.danger").click()
    wait_until(lambda: shown_status(browser) == "cancelled", 60,
               "the order page to show cancelled")
    status, order = Api(base, server["token"]).call("GET", "/1/orders?$filter=service-id eq "
                                                            "'urn:acme:service:sleeper'".replace(" ", "%20"))
    assert [o["status"] for o in order["orders"]] == ["cancelled"], (status, order)


def test_the_pages_have_no_serious_accessibility_violations(server, browser):
    base = server["base"]
    sign_in(browser, base, server["token"])
    status, order = Api(base, server["token"]).call("POST", "/1/orders", {
        "service-id": "urn:acme:service:wc", "parameters": [{"name": "text", "value": "a b c"}]})
    assert status == 201, order
    wait_until(lambda: Api(base, server["token"]).call("GET", f"/1/orders/{order['id']}")[1].get("finished-at"), 60,
               "the order to end")
    pages = {"catalogue": "/", "service": "/services/urn:acme:service:wc",
             "order": f"/orders/{order['id']}", "my orders": "/orders",
             "refused order form": None}
    found = {}
    for name, path in pages.items():
        if path is None:  # the service page showing a refusal at its field
            browser.get(base + "/services/urn:acme:service:wc")
            by_css(browser, "button[value=order]").click()
            wait_for(browser, "#field-param-text-error")
        else:
            browser.get(base + path)
        found[name] = serious_violations(browser)
    assert not any(found.values()), json.dumps(found, indent=1)


def test_the_pages_read_on_a_phone_and_work_from_the_keyboard(server, browser):
    from selenium.webdriver.common.keys import Keys

    base = server["base"]
    sign_in(browser, base, server["token"])
    browser.set_window_size(390, 844)
    try:
        for path in ("/", "/services/urn:acme:service:wc", "/orders"):
            browser.get(base + path)
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        browser.set_window_size(1280, 1000)
    # The first Tab reaches the skip link, which moves the focus to the content.
    browser.get(base + "/")
    by_css(browser, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
