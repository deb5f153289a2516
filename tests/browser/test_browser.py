"""The browser check: a person's path through the admin and GraphiQL, in headless Chromium.

It runs what production runs (gunicorn, gunicorn.conf.py, WhiteNoise) on the
test database and drives Debian's Chromium with its chromedriver through
Selenium: no browser is downloaded. Screenshots land in
``artifacts/screenshots/``. Without Chromium the check skips on a developer's
machine and fails in CI (``CI`` set), where .ci/run installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from graphql_relay import to_global_id
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Account
from tests.conftest import ensure_settlement_account
from tests.factories import make_account
from tests.ops.live import ARTIFACTS, Server, env_flag, gunicorn_server
from transactions.models import Transaction
from transactions.services import TransferSpec, transaction_reverse, transfer_create

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ARTIFACTS / "screenshots"
PASSWORD = "browser-check-Pa55word"
WAIT = 20  # seconds; generous for a 2-core CI machine
WIDTH, HEIGHT = 1400, 1000


def _require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    message = (
        f"headless Chromium is not installed ({', '.join(missing)} missing): apt-get install chromium chromium-driver"
    )
    if env_flag("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def browser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    _require_chromium()
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or a driver
    profile = tempfile.mkdtemp(prefix="ledger-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT * 2)
    try:
        yield driver
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:  # what the browser showed when a step failed
            shoot(driver, f"failure-{request.node.name}.png")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def books(transactional_db: None) -> dict[str, object]:
    """A staff user and a little history: a deposit, a PIX reversed, a pending TED."""
    ensure_settlement_account()
    staff = get_user_model().objects.create_superuser(username="staff", email="staff@example.com", password=PASSWORD)
    alice = make_account(250_000, name="Alice Souza")
    bob = make_account(10_000, name="Bruno Lima")
    pix = transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=123_450, type="PIX"))
    assert pix.transaction is not None
    transaction_reverse(transaction_id=pix.transaction.pk, actor=staff)
    transfer_create(spec=TransferSpec(sender_id=bob.pk, receiver_id=alice.pk, amount=5_000, type="TED"), actor=staff)
    return {"alice": alice, "bob": bob, "pix": pix.transaction}


@pytest.fixture
def server(books: dict[str, object]) -> Iterator[Server]:
    with gunicorn_server("browser", LEDGER_GRAPHIQL="true") as running:
        yield running


def shoot(driver: WebDriver, name: str) -> Path:
    """A screenshot of the whole page, not only the first screenful."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(int(height) + 150, HEIGHT), 6000))
    assert driver.save_screenshot(str(path)), name
    driver.set_window_size(WIDTH, HEIGHT)
    return path


def test_staff_log_in_open_a_transaction_and_run_a_query_in_graphiql(
    browser: WebDriver, server: Server, books: dict[str, object]
) -> None:
    driver = browser
    wait = WebDriverWait(driver, WAIT)
    pix = books["pix"]
    alice = books["alice"]
    assert isinstance(pix, Transaction) and isinstance(alice, Account)

    # Log in as staff through the admin's own form.
    driver.get(server.url + "/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys("staff")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ec.title_contains("Site administration"))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Transactions" in body and "Accounts" in body and "Audit events" in body
    shoot(driver, "01-admin-index.png")

    # The transactions list: badges, formatted money, the date hierarchy.
    driver.get(server.url + "/admin/transactions/transaction/")
    wait.until(ec.presence_of_element_located((By.ID, "result_list")))
    # Fold the navigation sidebar (the admin remembers it) so that the lists get the width.
    driver.find_element(By.ID, "toggle-nav-sidebar").click()
    listing = driver.find_element(By.ID, "result_list").text
    assert "1,234.50" in listing and "REVERTED" in listing and "PENDING" in listing
    assert driver.find_elements(By.CSS_SELECTOR, "span.ledger-badge")
    shoot(driver, "02-transactions-list.png")

    # One transaction's page: its entries, its reversal and its audit trail.
    driver.get(f"{server.url}/admin/transactions/transaction/{pix.pk}/change/")
    wait.until(ec.presence_of_element_located((By.ID, "content-main")))
    page = driver.find_element(By.ID, "content-main").text
    assert "Reversed by" in page
    assert "-1,234.50" in page
    assert "createTransaction" in page and "reverseTransaction" in page
    shoot(driver, "03-transaction-page.png")

    # An account's page with its balance at a date.
    query = urlencode({"at": pix.created_at.date().isoformat()})
    driver.get(f"{server.url}/admin/accounts/account/{alice.pk}/change/?{query}")
    wait.until(ec.presence_of_element_located((By.ID, "balance-at-result")))
    assert "Latest 20 entries" in driver.find_element(By.ID, "content-main").text
    shoot(driver, "04-account-page.png")

    # GraphiQL, served by the app itself, runs one query with the staff session.
    graphql = f"""query OneTransaction {{
  transaction(id: "{to_global_id("Transaction", pix.pk)}") {{
    id
    type
    status
    amount
    sender {{ name }}
    receiver {{ name }}
    reversedBy {{ type amount }}
  }}
}}"""
    driver.get(server.url + "/graphql")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror")))
    # Type the query as a person would paste it: into the editor, then press the run button.
    driver.execute_script(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]);", graphql
    )
    run = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button")))
    run.click()
    wait.until(
        lambda d: (
            "Alice Souza"
            in d.execute_script(
                "const r = document.querySelector('.graphiql-response .CodeMirror');"
                "return r && r.CodeMirror ? r.CodeMirror.getValue() : '';"
            )
        )
    )
    response_text = driver.execute_script(
        "return document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue();"
    )
    result = json.loads(response_text)
    assert "errors" not in result, result
    assert result["data"]["transaction"]["status"] == "REVERTED"
    assert result["data"]["transaction"]["amount"] == "1234.50"
    assert result["data"]["transaction"]["reversedBy"]["type"] == "REVERSAL"
    shoot(driver, "05-graphiql-query.png")

    for name in ("01-admin-index", "02-transactions-list", "03-transaction-page", "04-account-page"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name
    assert os.path.getsize(SCREENSHOTS / "05-graphiql-query.png") > 10_000
