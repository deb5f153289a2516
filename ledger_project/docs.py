"""The specification of the contract's custom scalars, served where their ``specifiedByURL`` points.

The text is docs/CLIENTS.md's section for the scalar (``### Decimal``,
``### DateTime``), read from the file, so the page and the docs cannot differ.
Public, like the schema itself: it says only how values are written.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from core.graphql.descriptions import SPECIFIED_SCALARS

CLIENTS_DOC = "docs/CLIENTS.md"


@cache
def scalar_section(name: str) -> str | None:
    """The ``### <name>`` section of docs/CLIENTS.md, up to the next heading, or None."""
    text = (settings.BASE_DIR / CLIENTS_DOC).read_text(encoding="utf-8")
    found = re.search(rf"^### {re.escape(name)}\n(.*?)(?=^#{{1,3}} )", text + "\n# ", re.S | re.M)
    return f"# The {name} scalar\n\nFrom {CLIENTS_DOC}.\n\n{found.group(1).strip()}\n" if found else None


@require_safe
def scalar_spec(request: HttpRequest, name: str) -> HttpResponse:
    """The scalar's specification as Markdown text (404 for any other name)."""
    section = scalar_section(name) if name in SPECIFIED_SCALARS else None
    if section is None:
        raise Http404("No such scalar.")
    return HttpResponse(section, content_type="text/markdown; charset=utf-8")
