"""The files clients' build tools write: relay-compiler's persisted-documents file and Apollo's manifest.

Both become a list of ``(sha256, text)`` pairs; what is checked about each pair
(its hash, its validity) is ``trusted.services``'s job.
"""

from __future__ import annotations

import json
from typing import Any

APOLLO_FORMAT = "apollo-persisted-query-manifest"


class ManifestError(Exception):
    """The file is neither of the two formats (or is damaged)."""


def read_manifest(raw: bytes) -> list[tuple[str, str]]:
    """The ``(hash, text)`` entries of a relay-compiler ``{hash: text}`` file or an Apollo manifest (version 1)."""
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ManifestError("the file is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise ManifestError("the file is not a JSON object")
    if "format" in data or "operations" in data:
        return _apollo(data)
    entries = []
    for key, text in data.items():
        if not isinstance(text, str):
            raise ManifestError(f"entry {key!r}: the text is not a string (is this relay-compiler's persisted file?)")
        entries.append((key, text))
    return entries


def _apollo(data: dict[str, Any]) -> list[tuple[str, str]]:
    if data.get("format") != APOLLO_FORMAT or data.get("version") != 1:
        raise ManifestError(f'an Apollo manifest has "format": "{APOLLO_FORMAT}" and "version": 1')
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError('an Apollo manifest lists its documents in "operations"')
    entries = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("id"), str):
            raise ManifestError(f"operation {index}: no string `id`")
        if not isinstance(operation.get("body"), str):
            raise ManifestError(f"operation {index} ({operation['id']}): no string `body`")
        entries.append((operation["id"], operation["body"]))
    return entries
