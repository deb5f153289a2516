"""Killing the primary of the HA pair under load loses and duplicates no acknowledged transfer.

Each test runs one scenario of bench/ha.py on the pair of ``make ha-up``: two gunicorn
processes on the URLs ``ha.sh urls`` prints (DATABASE_URL read-write, DATABASE_REPLICA_URL
prefer-standby, so queries read on the standby); 16 clients making transfers with
idempotency keys, retrying on UNAVAILABLE/503 and connection errors, each reading its
acknowledged transfer back with the ``Ledger-Read-After`` token the mutation answered;
the primary killed after 8 s, 20 s more load; then the clients read again, with their
tokens, what they were acknowledged before the kill. The tests assert on what the
clients saw and what the new primary holds. The figures go to
artifacts/ha/<scenario>.json and to the test's output.
"""

from __future__ import annotations

import pytest

from bench.ha import Result, read_your_writes, run_scenario, summary

pytestmark = pytest.mark.ha

# Generous bounds that still catch a failover gone wrong (no promotion, writes stuck on
# a dead node): measured 6-10 s here (docs/SCALING.md, Failover, measured).
MAX_OUTAGE_S = 20.0


def assert_nothing_lost(result: Result) -> None:
    print(summary(result))
    assert result.acknowledged > 200, "too little load to mean anything"
    assert result.new_primary != result.old_primary or result.scenario == "postmaster"
    assert result.lost == 0, f"acknowledged transfers missing on the new primary: {result.lost_keys[:10]}"
    assert result.duplicated == 0
    assert result.mismatched == 0, "a stored transfer differs from the one its client was told about"
    assert result.internal == 0, (
        f"INTERNAL during the failover (a lost connection is UNAVAILABLE): {result.internal_answers}"
    )
    assert result.acks_without_token == 0, "an acknowledged mutation carried no (or an inconsistent) Ledger-Read-After"
    assert result.reads == result.acknowledged, "every acknowledged transfer is read back, with its token"
    assert result.reads_unanswered == 0, "a read-back was never answered within 30 s"
    assert result.reads_missing == 0, "a client read its own acknowledged transfer as missing"
    assert result.later_reads > 0
    assert result.later_reads_missing == 0, (
        "after the failover, a client read a transfer acknowledged before it as missing"
    )
    assert result.standby_scans_before_kill, "no query was served by the standby: DATABASE_REPLICA_URL is not in use"
    assert result.rejected == 0, "a retried transfer was refused (IDEMPOTENCY_KEY_REUSED or worse)"
    assert result.gave_up == 0, "a transfer was never acknowledged, 60 s after the load stopped"
    assert result.balance_sum == 0
    assert result.negative_balances == 0
    assert result.verify_ledger_exit == 0, result.verify_ledger_output
    assert result.write_outage_s is not None, "writes never resumed"
    assert result.write_outage_s < MAX_OUTAGE_S


def test_a_crashed_primary_postgres_loses_and_duplicates_no_acknowledged_transfer() -> None:
    """SIGKILL of the primary's postmaster; its pg_autoctl keeper lives on."""
    assert_nothing_lost(run_scenario("postmaster"))


def test_a_dead_primary_node_loses_and_duplicates_no_acknowledged_transfer() -> None:
    """SIGKILL of the primary's keeper and postmaster at once: the machine died."""
    assert_nothing_lost(run_scenario("node"))


def test_the_checks_catch_lost_transfers_when_commits_do_not_wait_for_the_standby() -> None:
    """The control: synchronous_commit = local and replication paused before the kill.

    Transfers acknowledged in the last seconds never reached the standby, which is
    promoted without them. The same checks that pass above must count them as lost,
    else their green would mean nothing. The ledger itself stays whole: the standby
    holds a consistent prefix of history.
    """
    result = run_scenario("control")
    print(summary(result))
    assert result.new_primary != result.old_primary
    assert result.lost > 0
    assert result.later_reads_missing > 0, "clients reading with their tokens must see the loss too"
    assert result.internal == 0, (
        f"INTERNAL during the failover (a lost connection is UNAVAILABLE): {result.internal_answers}"
    )
    assert result.duplicated == 0
    assert result.balance_sum == 0
    assert result.negative_balances == 0
    assert result.verify_ledger_exit == 0, result.verify_ledger_output


def test_the_read_back_check_catches_reads_that_ignore_the_token() -> None:
    """The control of read-your-writes: the standby's replay paused 400 ms of every 700 ms, no kill.

    The standby still flushes WAL (commits go on) and its lag stays under
    LEDGER_REPLICA_MAX_LAG_MS, so it keeps serving reads. Read back without the
    token, clients miss their own acknowledged transfers; with it, the app waits
    for the replay or reads the primary, and none is missing.
    """
    without, with_token = read_your_writes()
    print(without, with_token, sep="\n")
    assert not without.send_token and with_token.send_token
    assert without.reads_missing > 0, "reads that ignore the token must miss writes the standby has not replayed"
    assert with_token.reads == with_token.acknowledged > 200
    assert with_token.reads_missing == with_token.reads_unanswered == 0
    assert with_token.standby_scans, "with the token, reads are still served by the standby when it has replayed"
