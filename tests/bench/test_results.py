"""bench/RESULTS.md has several writers: each replaces its own sections and keeps the others'."""

from pathlib import Path

from bench.results import merge

EXISTING = (
    "# Benchmark results\n\nold run\n\n## Service level\n\nold table\n\n"
    "## On the HA pair\n\nfailover\n\n### Failover under load\n\nkept whole\n"
)


def test_the_full_run_replaces_its_sections_and_keeps_the_ha_pairs(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(EXISTING)
    merge(path, "# Benchmark results\n\nnew run\n\n## Service level\n\nnew table\n", preamble=True)
    text = path.read_text()
    assert "new run" in text and "new table" in text and "old" not in text
    assert text.index("## Service level") < text.index("## On the HA pair")
    assert "### Failover under load\n\nkept whole" in text


def test_one_benchmark_replaces_or_appends_its_section_alone(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(EXISTING)
    merge(path, "## Trusted documents\n\nfirst\n", preamble=False)
    merge(path, "## Trusted documents\n\nsecond\n", preamble=False)
    text = path.read_text()
    assert text.startswith("# Benchmark results\n\nold run") and "old table" in text and "kept whole" in text
    assert text.count("## Trusted documents") == 1 and "second" in text and "first" not in text
    assert text.rstrip().endswith("second")


def test_make_bench_writes_its_tables_and_the_trusted_documents_line_and_keeps_the_rest(tmp_path: Path) -> None:
    from bench.harness import Measurement
    from bench.run import write_results

    def m(name: str) -> Measurement:
        return Measurement(name, operations=100, seconds=1.0, latencies=[0.002] * 10)

    service = [m("single transfers, 8 thread(s), distinct accounts"), m("8 threads, 20% hot"), m("batch of 1000 (x)")]
    http = [
        m(name)
        for name in (
            "createTransaction over HTTP, 1 client(s), distinct accounts",
            "createTransaction over HTTP, 32 client(s), distinct accounts",
            "createTransaction over HTTP, 32 client(s), 20% from one hot account",
            "createTransactions of 1000 over HTTP",
            "transactions(first: 50) page, 8 clients",
            "deep transactions page at 1 transactions",
            "first transactions page at 1 transactions",
        )
    ]
    documents = [
        m(f"createTransaction by {form}, {clients} client(s), round {i}")
        for clients in (1, 8)
        for i in (1, 2, 3)
        for form in ("query text", "documentId")
    ]
    facts = {"statements": {"transactions(first: 50) with sender/receiver": 3}, "rss_mb": 80.0}
    path = tmp_path / "RESULTS.md"
    path.write_text(EXISTING.replace("## Service level", "## Service level (one process, no HTTP)"))
    write_results(
        str(path), 1000.0, service, quick=True, http_results=http, facts={**facts, "trusted_documents": documents}
    )
    text = path.read_text()
    assert "## Trusted documents (issue 12)" in text and "| 1 | 100, 2.00 | 100, 2.00 | 1.00 x | 0 |" in text
    assert "### Failover under load\n\nkept whole" in text  # bench/ha.py's section survives make bench
    assert "old table" not in text
