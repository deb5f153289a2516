"""Static files storage: WhiteNoise's compressed, hashed files, minus source-map rewriting.

graphene-django-graphiql-static ships ``graphiql.min.css`` with a
``sourceMappingURL`` comment naming a ``.map`` file it does not ship. Django's
manifest storage rewrites such references to hashed names and fails
``collectstatic`` when the target is missing. A source map is fetched only by a
browser's developer tools, so we leave those comments as they are and keep
every other rewrite (``url()``, ``@import``) that makes far-future caching safe.
Leaving the comment also keeps the file byte-identical to the package's, which
GraphiQL's page checks with Subresource Integrity hashes.
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: Any) -> tuple[Any, ...]:
    kept = []
    for extension, rules in patterns:
        rules = tuple(rule for rule in rules if "sourceMappingURL" not in str(rule))
        kept.append((extension, rules))
    return tuple(kept)


class LedgerStaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)

    def stored_name(self, name: str) -> str:
        """The hashed name once collectstatic has run; the plain name before it (tests, ``make run``).

        Without a manifest Django would look for the file in STATIC_ROOT and fail
        every page with a 500. WhiteNoise serves the plain name from the app
        directories (WHITENOISE_USE_FINDERS). With a manifest the lookup stays
        strict, so a typo in a template fails loudly in production.
        """
        if not self.hashed_files:
            return name
        return str(super().stored_name(name))
