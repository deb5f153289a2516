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
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from graphql_relay import to_global_id
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from access.services import api_key_create, api_key_revoke
from accounts.admin import balance_at, parse_instant
from accounts.models import Account
from core.adminkit import money
from core.documents import format_document
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
WIDTH, HEIGHT = 1280, 900
# The admin's one date format (core/formats): "2026-11-25 14:30:05 UTC".
INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\b")
OTHER_DATE_FORMATS = re.compile(
    r"\b(a\.m\.|p\.m\.|midnight|noon)|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d"
)
LISTS = (
    ("transactions", "/admin/transactions/transaction/", "02-transactions-list.png"),
    ("entries", "/admin/transactions/entry/", "06-entries-list.png"),
    ("accounts", "/admin/accounts/account/", "07-accounts-list.png"),
    ("audit events", "/admin/audit/auditevent/", "08-audit-list.png"),
    ("API keys", "/admin/access/apikey/", "09-api-keys-list.png"),
)


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
    # The window's own frame takes some of it: make the page itself 1280 x 900.
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(2 * WIDTH - inner[0], 2 * HEIGHT - inner[1])
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
    pix = transfer_create(
        spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=123_450, type="PIX", description="Rent")
    )
    assert pix.transaction is not None
    transaction_reverse(transaction_id=pix.transaction.pk, actor=staff)
    transfer_create(spec=TransferSpec(sender_id=bob.pk, receiver_id=alice.pk, amount=5_000, type="TED"), actor=staff)
    api_key_create(user=staff, name="Mobile banking app, production")
    old, _ = api_key_create(user=staff, name="Mobile banking app, before the rotation", read_only=True)
    api_key_revoke(key=old, actor=staff)
    return {"alice": alice, "bob": bob, "pix": pix.transaction}


@pytest.fixture
def server(books: dict[str, object]) -> Iterator[Server]:
    with gunicorn_server("browser", LEDGER_GRAPHIQL="true") as running:
        yield running


def shoot(driver: WebDriver, name: str) -> Path:
    """A screenshot of what a 1280 x 900 window shows."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert driver.save_screenshot(str(path)), name
    return path


def sideways_overflow(driver: WebDriver) -> dict[str, int]:
    """How far the page and the list's own box scroll sideways (0 when they fit)."""
    return dict(
        driver.execute_script(
            "const page = document.documentElement;"
            "const box = document.querySelector('#changelist .results') || page;"
            "return {page: page.scrollWidth - page.clientWidth, list: box.scrollWidth - box.clientWidth,"
            " viewport: window.innerWidth};"
        )
    )


def test_staff_log_in_open_a_transaction_and_run_a_query_in_graphiql(
    browser: WebDriver, server: Server, books: dict[str, object]
) -> None:
    driver = browser
    wait = WebDriverWait(driver, WAIT)
    pix = books["pix"]
    alice = books["alice"]
    assert isinstance(pix, Transaction) and isinstance(alice, Account)

    # GraphiQL before signing in: the page says how to authenticate.
    driver.get(server.url + "/graphql")
    hint = wait.until(ec.visibility_of_element_located((By.ID, "ledger-auth-hint"))).text
    assert "Log in as staff" in hint and "Authorization" in hint and "Bearer" in hint, hint
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror")))
    shoot(driver, "10-graphiql-unauthenticated.png")

    # Log in as staff through the admin's own form.
    driver.get(server.url + "/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys("staff")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ec.title_contains("Site administration"))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Transactions" in body and "Accounts" in body and "Audit events" in body
    shoot(driver, "01-admin-index.png")

    # Every list fits 1280 px: neither the page nor the list's box scrolls sideways.
    for label, path, screenshot in LISTS:
        driver.get(server.url + path)
        wait.until(ec.presence_of_element_located((By.ID, "result_list")))
        overflow = sideways_overflow(driver)
        assert overflow["viewport"] == WIDTH, overflow
        assert overflow["page"] <= 0 and overflow["list"] <= 0, (label, overflow)
        listing = driver.find_element(By.ID, "result_list").text
        assert not OTHER_DATE_FORMATS.search(listing), (label, listing)
        assert INSTANT.search(listing), (label, listing)
        shoot(driver, screenshot)
        if label == "transactions":
            assert "1,234.50" in listing and "REVERTED" in listing and "PENDING" in listing
            assert driver.find_elements(By.CSS_SELECTOR, "span.ledger-badge")
            amounts = driver.find_elements(By.CSS_SELECTOR, "#result_list td.field-amount_display .ledger-amount")
            assert amounts and all(cell.value_of_css_property("text-align") == "right" for cell in amounts)
            # The figures end at the column's right edge, whatever their length.
            gaps = driver.execute_script(
                "return arguments[0].map(span => { const r = document.createRange(); r.selectNodeContents(span);"
                " return span.getBoundingClientRect().right - r.getBoundingClientRect().right; });",
                amounts,
            )
            assert all(abs(gap) <= 1 for gap in gaps), gaps
            widths = {cell.size["width"] for cell in amounts}
            assert len(widths) == 1, widths  # one column width: shorter figures are pushed right
        if label == "accounts":
            assert format_document(alice.document) in listing, listing  # 100.000.001-08, not 10000000108
            assert re.search(r"\b\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}\b", listing), listing  # the settlement CNPJ

    # One transaction's page: its entries, its reversal and its audit trail.
    driver.get(f"{server.url}/admin/transactions/transaction/{pix.pk}/change/")
    wait.until(ec.presence_of_element_located((By.ID, "content-main")))
    page = driver.find_element(By.ID, "content-main").text
    assert "Reversed by" in page
    assert "-1,234.50" in page
    assert "createTransaction" in page and "reverseTransaction" in page
    shoot(driver, "03-transaction-page.png")

    # An account's page: its document formatted, its entries with counterparty, type and description,
    # and "balance at a date" as a date-time picker beside the balances.
    driver.get(f"{server.url}/admin/accounts/account/{alice.pk}/change/")
    wait.until(ec.presence_of_element_located((By.ID, "balance-at-date")))
    page = driver.find_element(By.ID, "content-main").text
    assert format_document(alice.document) in page
    assert not OTHER_DATE_FORMATS.search(page), page
    picker = driver.find_element(By.ID, "id_at")
    assert picker.get_attribute("type") == "datetime-local"
    fieldsets = [
        h.get_attribute("textContent") for h in driver.find_elements(By.CSS_SELECTOR, "#content-main fieldset > h2")
    ]
    assert fieldsets.index("Balance at a date") == fieldsets.index("Money") + 1, fieldsets
    # Issue 14: the balance-over-time chart, an SVG drawn on the server, is on the page and rendered.
    chart = driver.find_element(By.ID, "balance-chart")
    assert chart.is_displayed() and chart.size["width"] > 300 and chart.size["height"] > 100, chart.size
    assert int(chart.get_attribute("data-points") or 0) == Account.objects.get(pk=alice.pk).entry_count
    shoot(driver, "04b-account-balance-chart.png")
    entries = driver.find_element(By.ID, "latest-entries")
    headers = [th.get_attribute("textContent") for th in entries.find_elements(By.CSS_SELECTOR, "thead th")]
    assert {"Counterparty", "Type", "Description"} <= set(headers), headers
    first_pix = entries.find_elements(By.XPATH, ".//tr[td[4][normalize-space()='PIX']]")[-1].text
    assert "Bruno Lima" in first_pix and "Rent" in first_pix, first_pix
    # A minute after the books were written: the PIX and its reversal both count.
    at = (timezone.localtime(pix.created_at) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    driver.execute_script("arguments[0].value = arguments[1];", picker, at)
    driver.find_element(By.CSS_SELECTOR, "#balance-at-date input[type=submit]").click()
    result = wait.until(ec.presence_of_element_located((By.ID, "balance-at-result"))).text
    asked = parse_instant(at)
    assert asked is not None
    expected, _ = balance_at(alice, asked)  # to the second: the books' own answer for that instant
    assert INSTANT.search(result) and f"{money(expected)}" in result, result
    assert driver.find_element(By.ID, "id_at").get_attribute("value") == at
    shoot(driver, "04-account-page.png")
    driver.execute_script("arguments[0].scrollIntoView();", driver.find_element(By.ID, "latest-entries"))
    shoot(driver, "12-account-entries.png")

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

    def response(d: WebDriver) -> str:
        return str(
            d.execute_script(
                "const r = document.querySelector('.graphiql-response .CodeMirror');"
                "return r && r.CodeMirror ? r.CodeMirror.getValue() : '';"
            )
        )

    def answered(d: WebDriver) -> bool:
        # GraphiQL reads the operation's name from the editor a moment after a change; a click before
        # that runs the opening query's name ("No operation named 'FirstAccounts'"): press again, as a person would.
        if "No operation named" in response(d):
            run.click()
        return "Alice Souza" in response(d)

    run.click()
    wait.until(answered)
    response_text = driver.execute_script(
        "return document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue();"
    )
    result = json.loads(response_text)
    assert "errors" not in result, result
    assert result["data"]["transaction"]["status"] == "REVERTED"
    assert result["data"]["transaction"]["amount"] == "1234.50"
    assert result["data"]["transaction"]["reversedBy"]["type"] == "REVERSAL"
    shoot(driver, "05-graphiql-query.png")

    for name in ("01-admin-index", "02-transactions-list", "03-transaction-page", "04-account-page", "06-entries-list"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name
    assert os.path.getsize(SCREENSHOTS / "05-graphiql-query.png") > 10_000


def editors(driver: WebDriver) -> list[str]:
    """The text of every GraphiQL editor on the page (query, variables, headers, response)."""
    return list(
        driver.execute_script("return [...document.querySelectorAll('.CodeMirror')].map(e => e.CodeMirror.getValue());")
    )


def test_in_development_graphiql_opens_on_our_query_with_the_dev_key_and_runs_it(
    browser: WebDriver, books: dict[str, object], tmp_path: Path
) -> None:
    driver = browser
    wait = WebDriverWait(driver, WAIT)
    dev = get_user_model().objects.create_superuser(username="dev", email="dev@example.com", password="dev")
    _, token = api_key_create(user=dev, name="make run")
    kept = tmp_path / ".dev-api-key"
    kept.write_text(token + "\n")
    with gunicorn_server("browser-dev", DEBUG="true", LEDGER_DEV_KEY_FILE=str(kept)) as server:
        driver.get(server.url + "/graphql")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror")))
        assert not driver.find_elements(By.ID, "ledger-auth-hint")
        texts = editors(driver)
        assert any("query FirstAccounts" in text for text in texts), texts
        assert any(f"Bearer {token}" in text for text in texts), texts
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button"))).click()
        wait.until(lambda d: any('"totalCount"' in text for text in editors(d)))
        answer = next(text for text in editors(driver) if '"totalCount"' in text)
        result = json.loads(answer)
        assert "errors" not in result, result
        assert result["data"]["accounts"]["totalCount"] == 3  # the settlement account, Alice and Bruno
        shoot(driver, "11-graphiql-development.png")
