"""End to end in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
a scan whose henkilötunnus is uncertain lands in the hot folder of a running 'intake serve', shows up
held, the advisor picks the candidate, gives the municipality and releases it, and the agency's
mail server receives a message that decrypts and verifies. Screenshots of the main screens in
Finnish and Swedish are written to tests/artifacts/desk/."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_fixtures import OTHER, UNSURE_HETU, UNSURE_HETU_TRUTH, serving, write_config
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from smtp_fixtures import AGENCY

from intake.demo.mailserver import StoreHandler
from intake.demo.pki import DemoPki
from intake.receive.unpack import open_package

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "desk"
PASSWORD = "kala-kissa-2026"
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# What a browser does when a file is dropped on an element: a drop event carrying the file.
DROP = """
const [target, data, name] = arguments;
const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
for (const type of ["dragenter", "dragover", "drop"]) {
  target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
}
"""


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.fail("install Debian's chromium and chromium-driver (./run.sh test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--lang=fi"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def served(tmp_path: Path, pki: DemoPki, smtp_server) -> Iterator[tuple[str, Path, StoreHandler]]:  # type: ignore[no-untyped-def]
    """'intake serve' on a free port with a hot folder, delivering to a TLS test mail server."""
    received = tmp_path / "received"
    received.mkdir()
    handler = StoreHandler(received)
    mail = smtp_server(handler)
    hot = tmp_path / "hot"
    config = write_config(tmp_path, pki, smtp_port=mail.port, hot_folder=hot)
    with serving(config, tmp_path / "serve.log", language="fi") as url:
        yield url, hot, handler


def _shot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _wait(driver: WebDriver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.2)


def _language(driver: WebDriver, code: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#language option[value={code}]").click()
    driver.find_element(By.CSS_SELECTOR, "form[action='/language'] button").click()


def test_advisor_resolves_an_uncertain_henkilotunnus_and_the_agency_receives_it(
    browser: WebDriver, served: tuple[str, Path, StoreHandler], corpus: Path, pki: DemoPki
) -> None:
    url, hot, handler = served
    browser.get(url + "/")
    assert browser.current_url.startswith(url + "/signin")
    _shot(browser, "fi-signin")
    # Keyboard only: the name field has the focus, Tab goes to the password, Enter signs in.
    browser.switch_to.active_element.send_keys("maija", Keys.TAB, PASSWORD, Keys.ENTER)
    _wait(browser).until(ec.presence_of_element_located((By.ID, "rows")))

    # The scanner writes the file under a temporary name, then renames it (as desk scanners do).
    page = browser.find_element(By.TAG_NAME, "html")
    suffix = Path(UNSURE_HETU).suffix
    shutil.copyfile(corpus / UNSURE_HETU, hot / f"scan{suffix}.part")
    os.rename(hot / f"scan{suffix}.part", hot / f"Järvinen Kaisa{suffix}")
    row = _wait(browser, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#rows tr.held")))
    assert "anna se" in row.text  # the reason, in plain Finnish: the municipality is needed
    assert page.tag_name == "html"  # the same page, not stale: the desk pushed the row into it
    _shot(browser, "fi-list")

    row.find_element(By.CSS_SELECTOR, "td a").click()
    hetu = _wait(browser).until(ec.presence_of_element_located((By.ID, "field-hetu")))
    assert hetu.find_element(By.CSS_SELECTOR, "img.crop").get_attribute("naturalWidth") != "0"  # the box, beside
    _shot(browser, "fi-document")
    choice = hetu.find_element(By.CSS_SELECTOR, f"input[name=candidate][value='{UNSURE_HETU_TRUTH}']")
    choice.click()
    _navigate(browser, browser.find_element(By.ID, "pick-hetu"))
    municipality = _wait(browser).until(ec.presence_of_element_located((By.ID, "municipality")))
    municipality.send_keys("Oulu")
    municipality.submit()
    _wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Kunta annettu"))
    browser.find_element(By.ID, "release").click()
    _wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Lähetetty: paketti"))
    _wait(browser, 60).until(ec.text_to_be_present_in_element((By.ID, "delivery"), "lähetetty"))
    _shot(browser, "fi-released")

    [message] = handler.received
    opened = open_package(message.read_bytes(), recipient_key=pki.agencies[AGENCY].key,
                          recipient_cert=pki.agencies[AGENCY].cert, ca_file=pki.ca.cert)  # fmt: skip
    assert opened.signer_verified and opened.pdf.startswith(b"%PDF")
    assert opened.manifest["fields"]["hetu"]["value"] == UNSURE_HETU_TRUTH
    assert opened.manifest["fields"]["municipality"]["value"] == "Oulu"
    assert UNSURE_HETU_TRUTH not in json.dumps(dict(message_headers(message.read_bytes())))

    # Drag and drop: a file dropped on the list goes through the hot folder like a scan.
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, "header nav a.brand"))
    drop = _wait(browser).until(ec.presence_of_element_located((By.ID, "upload")))
    data = base64.b64encode((corpus / OTHER).read_bytes()).decode()
    browser.execute_script(DROP, drop, data, "Virtanen Matti.jpg")
    _wait(browser, 60).until(lambda b: "ULOSOTTO" in b.find_element(By.ID, "rows").text)
    assert not [p for p in hot.iterdir() if "Virtanen" in p.name]  # stored under a random name
    assert "Mikään sääntö ei kerro" in browser.find_element(By.CSS_SELECTOR, "#rows tr.held").text

    _language(browser, "sv")
    _wait(browser).until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Dokument"))
    _shot(browser, "sv-list")
    browser.find_element(By.CSS_SELECTOR, "#rows tr.held td a").click()
    _wait(browser).until(ec.text_to_be_present_in_element((By.ID, "fields-title"), "Vad som lästes"))
    _shot(browser, "sv-document")
    browser.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
    _wait(browser).until(ec.url_contains("/signin"))
    _shot(browser, "sv-signin")
    browser.get(url + "/")  # signed out: nothing without signing in again
    assert browser.current_url.startswith(url + "/signin")


def _navigate(browser: WebDriver, control: WebElement) -> None:
    """Click a control that loads a new page, and wait until the old page is gone.

    Without the wait, an element looked up next can be found on the old page a moment
    before it is replaced, and is stale by the time it is used.
    """
    old = browser.find_element(By.TAG_NAME, "html")
    control.click()
    _wait(browser).until(ec.staleness_of(old))


def message_headers(eml: bytes) -> list[tuple[str, str]]:
    from email import message_from_bytes, policy

    return list(message_from_bytes(eml, policy=policy.default).items())
