"""The HA tests kill PostgreSQL processes of the pair ``make ha-up`` built: never by accident.

``make test-ha`` selects them with ``-m ha``; ``make test`` deselects them with
``-m "not ha"``. A bare ``pytest`` (no ``-m``) deselects them here too, and says
so in its summary: they run only when a marker expression names them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "ha" in (config.option.markexpr or ""):
        return  # the expression decides (-m ha, -m "not ha")
    deselected = [item for item in items if item.get_closest_marker("ha")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("ha")]
