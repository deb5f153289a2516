"""bench/RESULTS.md is written by several benchmarks: each replaces its own ``## `` sections and keeps the others."""

from __future__ import annotations

from pathlib import Path


def sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first ``## `` heading, and each ``## `` section (its heading line, its whole text)."""
    preamble: list[str] = []
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            found.append((line.strip(), [line]))
        elif found:
            found[-1][1].append(line)
        else:
            preamble.append(line)
    return "".join(preamble), [(heading, "".join(lines)) for heading, lines in found]


def merge(path: Path, written: str, *, preamble: bool) -> None:
    """Writes ``written``'s sections into ``path``: a section of the same heading is replaced, others are kept.

    With ``preamble`` (the full run), ``written``'s preamble replaces the file's
    and its sections come first, in its order; the file's other sections follow.
    Without, the file's preamble stays and a new section is added at the end.
    """
    old_preamble, old = sections(path.read_text(encoding="utf-8")) if path.exists() else ("", [])
    new_preamble, new = sections(written)
    mine = dict(new)
    if preamble:
        kept = [text for heading, text in old if heading not in mine]
        parts = [new_preamble, *(text for _, text in new), *kept]
    else:
        parts = [old_preamble, *(mine.pop(heading, text) for heading, text in old), *mine.values()]
    body = "".join(part if part.endswith("\n") else part + "\n" for part in parts if part)
    path.write_text(body, encoding="utf-8")
