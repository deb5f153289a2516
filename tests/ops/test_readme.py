"""README.md stays true: its tour runs, line by line, against a live server with a real key, and answers as written.

The tour's ``sh`` blocks are pasted into one bash process, a logical line at a
time (backslash continuations joined), exactly as a reader would, on a server
at a port of its own: the reader's ``URL`` (the tour's first line keeps it) is
the only thing given, and the interpreter (``.venv/bin/python`` becomes the one
running the tests). Every line must succeed, and every block's output must be
what the ``json`` and ``text`` blocks written under it say: the GraphQL answers
(less their ``extensions``) equal, in order, where ``"…"`` stands for any
string; the other lines in order, ``…`` standing for any text. The books must
end where the prose says they do.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account
from tests.conftest import ensure_settlement_account
from tests.ops.live import gunicorn_server, shared_database_url
from tests.ops.support import PYTHON, ROOT, clean_env
from transactions.models import Transaction

README = ROOT / "README.md"
TOUR_HEADING = "## A five-minute tour"
MARK = "@@README-LINE@@"
ANY = "…"


@dataclass
class Block:
    """One ``sh`` block of the tour and the answers written under it."""

    lines: list[str]
    answers: list[Any] = field(default_factory=list)  # the json blocks' documents, in order
    text: list[str] = field(default_factory=list)  # the text blocks' lines, in order


def tour_section(text: str) -> str:
    start = text.index(TOUR_HEADING)
    return text[start : text.index("\n## ", start + len(TOUR_HEADING))]


def tour_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for kind, body in re.findall(r"```(sh|json|text)\n(.*?)```", tour_section(text), re.S):
        if kind == "sh":
            joined = re.sub(r"\\\n\s*", "", body)
            lines = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
            blocks.append(Block(lines))
        elif kind == "json":
            blocks[-1].answers += json_documents(body)
        else:
            blocks[-1].text += [line for line in body.splitlines() if line.strip()]
    return blocks


def tour_lines(text: str) -> list[str]:
    """The logical command lines of the tour section's ``sh`` blocks."""
    return [line for block in tour_blocks(text) for line in block.lines]


def json_documents(text: str) -> list[Any]:
    """The JSON documents written one after another (each may span lines)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


def matches(expected: Any, actual: Any) -> bool:
    """Equal, except that an expected ``"…"`` matches any string."""
    if expected == ANY:
        return isinstance(actual, str)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(matches(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(matches, expected, actual))
    return bool(expected == actual) and type(expected) is type(actual)


def text_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split(ANY))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def in_order(expected: list[str], actual: list[str]) -> bool:
    """Each expected line matches an actual one, in order (other actual lines may come between)."""
    remaining = iter(actual)
    return all(any(text_matches(line, candidate) for candidate in remaining) for line in expected)


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


def split_output(output: str) -> tuple[list[Any], list[str]]:
    """A line's output as (GraphQL answers less their extensions, other lines)."""
    answers, text = [], []
    for line in output.splitlines():
        if line.startswith(('{"data"', '{"errors"')):
            body = json.loads(line)
            body.pop("extensions", None)
            answers.append(body)
        elif line.strip():
            text.append(line)
    return answers, text


def test_the_tour_has_the_seed_examples_and_every_command_has_its_answer_written_under_it() -> None:
    text = README.read_text()
    lines = "\n".join(tour_lines(text))
    assert 'createAccount(input: {name: \\"João\\", document: \\"529.982.247-25\\", balance: 1000})' in lines
    assert (
        'createTransaction(input: {senderAccount: \\"QWNjb3VudDox\\", receiverAccount: \\"QWNjb3VudDoy\\", '
        "amount: 100, type: PIX})" in lines
    )
    assert "{ accounts(first: 10)" in lines
    # Port-agnostic: one URL, defaulting to make run's, and no address written anywhere else.
    assert tour_lines(text)[0] == "URL=${URL:-http://127.0.0.1:8000}"
    assert lines.count('curl -s "$URL/graphql"') >= 8
    assert "127.0.0.1:8000" not in "\n".join(tour_lines(text)[1:])
    for block in tour_blocks(text):
        if any("curl" in line or "manage.py" in line or "echo" in line for line in block.lines):
            assert block.answers or block.text, f"no answer written under: {block.lines}"
    # The one-line reset the prose promises.
    assert "`make reset run`" in tour_section(text)


def test_the_answer_checks_can_fail() -> None:
    assert matches({"a": ANY, "b": [1]}, {"a": "x", "b": [1]})
    assert not matches({"a": ANY}, {"a": 1})
    assert not matches({"a": "1.00"}, {"a": "1.0"})
    assert not matches({"a": 1}, {"a": 1, "b": 2})
    assert not matches([1, 2], [1])
    assert not matches(1, True)
    assert in_order(["a …", "c"], ["a 1", "b", "c"])
    assert not in_order(["c", "a …"], ["a 1", "b", "c"])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_readme_tour_works_pasted_line_by_line_on_another_port_and_answers_as_written(ids_from_one: None) -> None:
    ensure_settlement_account()
    blocks = tour_blocks(README.read_text())
    lines = [line for block in blocks for line in block.lines]
    with gunicorn_server("readme-tour") as server:
        assert not server.url.endswith(":8000")
        pasted = [line.replace(".venv/bin/python", PYTHON) for line in lines]
        env = clean_env(DATABASE_URL=shared_database_url(), SECRET_KEY="x" * 50, URL=server.url)
        outcomes = run_line_by_line(pasted, env, ROOT)

    failed = [(line, status, output) for line, status, output in outcomes if status != 0]
    assert not failed, failed
    position = 0
    for block in blocks:
        answers: list[Any] = []
        text: list[str] = []
        for _, _, output in outcomes[position : position + len(block.lines)]:
            block_answers, block_text = split_output(output)
            answers += block_answers
            text += block_text
        position += len(block.lines)
        assert len(answers) == len(block.answers), (block.lines, answers)
        for expected, actual in zip(block.answers, answers, strict=True):
            assert matches(expected, actual), (
                f"README says\n{json.dumps(expected)}\nthe server said\n{json.dumps(actual)}"
            )
        assert in_order(block.text, text), (block.text, text)

    # The books end where the prose says.
    joao, maria = Account.objects.get(pk=1), Account.objects.get(pk=2)
    assert (joao.name, joao.balance, joao.held) == ("João", 60_000, 0)  # 750.00 less the capture, plus the refund
    assert (maria.name, maria.balance) == ("Maria", 40_000)
    assert Transaction.objects.get(pk=2).status == "REVERTED"
    assert Transaction.objects.get(pk=4).status == "COMPLETED"
    held = Transaction.objects.get(pk=5)  # the authorization: 300.00 held, 200.00 captured, 50.00 refunded
    assert (held.status, held.amount, held.captured_amount, held.reversed_amount) == (
        "COMPLETED",
        30_000,
        20_000,
        5_000,
    )


def test_make_reset_deletes_only_make_runs_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "tour.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").write_text("x")
    kept = tmp_path / "other.sqlite3"
    kept.write_text("x")
    refused = subprocess.run(
        ["make", "-s", "reset"],
        cwd=ROOT,
        env=clean_env(SQLITE_PATH=str(database), DATABASE_URL="postgres://x/ledger"),
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "dropdb" in refused.stderr
    assert database.exists()
    done = subprocess.run(
        ["make", "-s", "reset"], cwd=ROOT, env=clean_env(SQLITE_PATH=str(database)), capture_output=True
    )
    assert done.returncode == 0, done
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.sqlite3"]


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


def test_the_readme_shows_the_committed_screenshots_of_the_admin_and_graphiql() -> None:
    shown = set(re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+\.png)\)", README.read_text()))
    assert shown, "no screenshots in the README"
    for path in shown:
        assert (ROOT / path).stat().st_size > 10_000, path
    browser_test = (ROOT / "tests" / "browser" / "test_browser.py").read_text()
    taken = set(re.findall(r'"(\d\d-[a-z-]+\.png)"', browser_test))
    assert {f"docs/img/{name}" for name in taken} - {"docs/img/01-admin-index.png"} <= shown | {
        "docs/img/05-graphiql-query.png"
    }
