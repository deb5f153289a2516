"""GraphQL documents parsed and validated once per process: an LRU cache keyed on the query text.

(Documents as GraphQL names a query's text; identity documents are ``core.documents``.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from graphene_django.settings import graphene_settings
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule

from core.graphql import errors as codes
from core.graphql.errors import coded

# Bounds the parser's work on a hostile 1 MiB body; a batch of 1,000 inline transfers is ~20,000 tokens.
MAX_TOKENS = 50_000

Rules = tuple[type[ASTValidationRule], ...]


class CachedDocument(NamedTuple):
    document: DocumentNode | None  # None when the text does not parse
    errors: tuple[GraphQLError, ...]  # parse or validation errors, already coded


class DocumentCache:
    """Parsed and validated documents by query text (LRU), so a hot operation is parsed once per process.

    Validation depends on the schema alone, so its verdict is cached with the
    document; what depends on the request (variables, the node estimate) is
    checked per request. A document's AST takes ~70 bytes per character of its
    text, so the cache keeps short texts only and bounds their total size:
    about 20 MB per process at worst.
    """

    def __init__(self, max_entries: int = 512, max_query_chars: int = 8 * 1024, max_total_chars: int = 256 * 1024):
        self.max_entries, self.max_query_chars, self.max_total_chars = max_entries, max_query_chars, max_total_chars
        self.entries: OrderedDict[tuple[GraphQLSchema, Rules, str], CachedDocument] = OrderedDict()
        self.total_chars = 0
        self.lock = threading.Lock()

    def get(self, schema: GraphQLSchema, query: str, rules: Rules) -> CachedDocument:
        key = (schema, rules, query)
        with self.lock:
            cached = self.entries.get(key)
            if cached is not None:
                self.entries.move_to_end(key)
                return cached
        outcome = self.compile(schema, query, rules)
        if len(query) <= self.max_query_chars:
            with self.lock:
                if key not in self.entries:
                    self.entries[key] = outcome
                    self.total_chars += len(query)
                while len(self.entries) > self.max_entries or self.total_chars > self.max_total_chars:
                    (_, _, old_query), _ = self.entries.popitem(last=False)
                    self.total_chars -= len(old_query)
        return outcome

    @staticmethod
    def compile(schema: GraphQLSchema, query: str, rules: Rules) -> CachedDocument:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as syntax_error:
            return CachedDocument(None, (coded(syntax_error, codes.GRAPHQL_PARSE_FAILED),))
        except RecursionError:
            too_deep = GraphQLError("The document nests too deeply to parse.")
            return CachedDocument(None, (coded(too_deep, codes.GRAPHQL_PARSE_FAILED),))
        problems = validate(schema, document, rules, graphene_settings.MAX_VALIDATION_ERRORS)
        return CachedDocument(document, tuple(coded(error, codes.GRAPHQL_VALIDATION_FAILED) for error in problems))

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.total_chars = 0
