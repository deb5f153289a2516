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
