"""README.md stays true: its tour runs, line by line, against a live server with a real key.

The tour's ``sh`` blocks are pasted into one bash process, a logical line at a
time (backslash continuations joined), exactly as a reader would; the only
changes are the server's address (a free port instead of 8000) and the
interpreter (``.venv/bin/python`` becomes the one running the tests). Every
line must succeed, every GraphQL answer must be free of errors, and the books
must end where the prose says they do.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from accounts.models import Account
from tests.conftest import ensure_settlement_account
from tests.ops.live import gunicorn_server, shared_database_url
from tests.ops.support import PYTHON, ROOT, clean_env
from transactions.models import Transaction

README = ROOT / "README.md"
TOUR_HEADING = "## A five-minute tour"
MARK = "@@README-LINE@@"


def tour_lines(text: str) -> list[str]:
    """The logical command lines of the tour section's ``sh`` blocks."""
    start = text.index(TOUR_HEADING)
    end = text.index("\n## ", start + len(TOUR_HEADING))
    blocks = re.findall(r"```sh\n(.*?)```", text[start:end], re.S)
    lines: list[str] = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", "", block)
        lines += [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def run_line_by_line(lines: list[str], env: dict[str, str], cwd: Path) -> list[tuple[str, int, str]]:
    """Feeds the lines to one bash, as a paste would; returns (line, exit status, output) for each."""
    script = "".join(f"echo '{MARK}'\n{line}\necho \"{MARK} $?\"\n" for line in lines)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input=script,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    chunks = result.stdout.split(MARK + "\n")[1:]
    outcomes = []
    for line, chunk in zip(lines, chunks, strict=False):
        output, _, status = chunk.rpartition(MARK + " ")
        outcomes.append((line, int(status.strip() or -1), output))
    assert len(outcomes) == len(lines), f"bash stopped early:\n{result.stdout}\n{result.stderr}"
    return outcomes


def graphql_answers(outcomes: list[tuple[str, int, str]]) -> list[dict]:
    answers = []
    for line, _, output in outcomes:
        for text in output.splitlines():
            if text.startswith('{"data"') or text.startswith('{"errors"'):
                answers.append({"line": line, "body": json.loads(text)})
    return answers


def test_the_tour_has_the_seed_examples() -> None:
    lines = "\n".join(tour_lines(README.read_text()))
    assert 'createAccount(input: {name: \\"João\\", document: \\"529.982.247-25\\", balance: 1000})' in lines
    assert (
        'createTransaction(input: {senderAccount: \\"QWNjb3VudDox\\", receiverAccount: \\"QWNjb3VudDoy\\", '
        "amount: 100, type: PIX})" in lines
    )
    assert "{ accounts(first: 10)" in lines
    assert lines.count("curl -s http://127.0.0.1:8000/graphql") >= 8


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_readme_tour_works_pasted_line_by_line() -> None:
    ensure_settlement_account()
    lines = tour_lines(README.read_text())
    with gunicorn_server("readme-tour") as server:
        port = server.url.rsplit(":", 1)[1]
        pasted = [
            line.replace("http://127.0.0.1:8000", server.url).replace(".venv/bin/python", PYTHON) for line in lines
        ]
        env = clean_env(DATABASE_URL=shared_database_url(), SECRET_KEY="x" * 50, PORT=port)
        outcomes = run_line_by_line(pasted, env, ROOT)

    failed = [(line, status, output) for line, status, output in outcomes if status != 0]
    assert not failed, failed
    answers = graphql_answers(outcomes)
    assert len(answers) >= 9, outcomes
    for answer in answers:
        body = answer["body"]
        assert "errors" not in body, answer
        for payload in body["data"].values():
            if isinstance(payload, dict) and "errors" in payload:
                assert payload["errors"] == [], answer

    # The books end where the prose says.
    joao, maria = Account.objects.get(pk=1), Account.objects.get(pk=2)
    assert (joao.name, joao.balance, joao.held) == ("João", 75_000, 0)
    assert (maria.name, maria.balance) == ("Maria", 25_000)
    assert Transaction.objects.get(pk=2).status == "REVERTED"
    assert Transaction.objects.get(pk=4).status == "COMPLETED"

    by_line = {line: output for line, _, output in outcomes}
    settle = next(output for line, output in by_line.items() if "settle_transactions" in line)
    assert "settled 1 transaction" in settle
    verify = next(output for line, output in by_line.items() if "verify_ledger" in line)
    assert "invariants hold" in verify
    assert all(line.startswith("OK") for line in verify.strip().splitlines()[:-1]), verify
    page = next(answer["body"] for answer in answers if "after:" in answer["line"])
    assert [edge["node"]["type"] for edge in page["data"]["transactions"]["edges"]] == ["REVERSAL"]


def test_every_setting_read_from_the_environment_is_in_the_configuration_table() -> None:
    text = README.read_text()
    section = text[text.index("## Configuration") : text.index("## Operations runbook")]
    documented = set(re.findall(r"^\| `([A-Z_][A-Z0-9_]*)` \|", section, re.M))
    read = set()
    for path in (
        ROOT / "ledger_project" / "settings.py",
        ROOT / "gunicorn.conf.py",
        ROOT / "ledger_project" / "serve.py",
    ):
        source = path.read_text()
        read |= set(
            re.findall(r'(?:env_bool|env_int|env_list|_env_int|os\.environ\.get)\(\s*["\']([A-Z_]+)["\']', source)
        )
        read |= set(re.findall(r'(?:\b_int\(env,|\benv\.get\()\s*["\']([A-Z_]+)["\']', source))  # serve.py's reader
        read |= set(re.findall(r'os\.environ\[["\']([A-Z_]+)["\']\]', source))
    read |= set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    read.discard("DJANGO_SETTINGS_MODULE")
    missing = read - documented
    assert not missing, f"read from the environment but not in README's configuration table: {sorted(missing)}"


def test_readme_names_every_operator_command() -> None:
    text = README.read_text()
    for command in (
        "settle_transactions",
        "verify_ledger",
        "verify_ledger --against",
        "ledger_checkpoint",
        "grant_app_role",
        "seed_ledger",
        "create_api_key",
        "revoke_api_key",
        "check --deploy",
        "pg_dump",
        "pg_restore",
    ):
        assert command in text, command
