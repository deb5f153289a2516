"""The GraphQL endpoint: graphene-django's ``GraphQLView``, made strict about HTTP.

The subclass keeps the parent's shape (``dispatch`` → ``parse_body`` →
``get_graphql_params`` → ``get_response`` → ``execute_graphql_request`` →
``format_error``, GraphiQL through ``render_graphiql``) and tightens each
step, as docs/HTTP.md explains: authentication before anything runs, 413
over 1 MiB, no batches, the GraphQL over HTTP media types and status codes,
an ``extensions.code`` on every error, cost limits before execution (and
their backstops during it: a statement timeout, a wall-clock budget, a
response size budget), a per-process cache of parsed and validated
documents, and INTERNAL errors that leak nothing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from graphene_django.settings import graphene_settings
from graphene_django_graphiql_static.views import GraphiQLOfflineView
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule

from access.authentication import CsrfFailed, NotAuthenticated, authenticate
from core import metrics
from core.graphql import errors as codes
from core.graphql.cost import BudgetExceeded, Cost, QueryDepthRule, RequestBudget, estimate_cost
from core.graphql.execution import LedgerExecutionContext

logger = logging.getLogger("ledger.graphql")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
# Bounds the parser's work on a hostile 1 MiB body; a batch of 1,000 inline transfers is ~20,000 tokens.
MAX_TOKENS = 50_000
INTERNAL_MESSAGE = "Internal error. It has been logged with this request's X-Request-ID."


class HttpProblem(Exception):
    """A refusal before GraphQL runs: an HTTP status and one coded error."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def response_media_type(request: HttpRequest) -> str:
    """The client's preferred media type among ours; ``application/json`` when it names neither (or ``*/*``)."""
    best, best_q = APPLICATION_JSON, 0.0
    for item in request.headers.get("Accept", "").split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = GRAPHQL_RESPONSE_JSON
        elif media in (APPLICATION_JSON, "application/*", "*/*"):
            candidate = APPLICATION_JSON
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:  # ties keep the earlier one: the client listed it first
            best, best_q = candidate, q
    return best


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
        self.entries: OrderedDict[tuple[GraphQLSchema, tuple[type[ASTValidationRule], ...], str], CachedDocument] = (
            OrderedDict()
        )
        self.total_chars = 0
        self.lock = threading.Lock()

    def get(self, schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]) -> CachedDocument:
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
    def compile(schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]) -> CachedDocument:
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


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """Gives ``error`` an ``extensions.code`` unless it has one (the cost rules set QUERY_TOO_COMPLEX)."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


# SQLSTATE query_canceled: PostgreSQL cancelled a statement (statement_timeout).
QUERY_CANCELED = "57014"
# The statement_timeout each raw connection holds, set by this process; absent: the server's default.
_statement_timeouts: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def bound_statements(timeout_ms: int) -> None:
    """Sets PostgreSQL's ``statement_timeout`` for the request's statements on this thread's connection.

    Every request of the web process wants the same value, so it is set once
    per connection (``SET`` outside a transaction lasts for the session, over
    persistent connections) and again only when it changed. Inside a
    transaction (tests run in one) a rollback would undo it: it is set each
    time. A cancelled statement raises SQLSTATE 57014; a mutation's
    ``atomic`` block rolls back whole, so nothing of it is kept.
    """
    if connection.vendor != "postgresql":
        return
    wanted = max(timeout_ms, 0)
    connection.ensure_connection()
    raw = connection.connection
    if not connection.in_atomic_block and _statement_timeouts.get(raw, 0) == wanted:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{wanted}ms"])
    if not connection.in_atomic_block:
        _statement_timeouts[raw] = wanted


def statement_timed_out(error: BaseException | None) -> bool:
    """Whether PostgreSQL cancelled a statement (SQLSTATE 57014) somewhere down this error's causes."""
    for _ in range(8):  # GraphQLError -> django.db.OperationalError -> psycopg.errors.QueryCanceled
        if error is None:
            return False
        if getattr(error, "sqlstate", None) == QUERY_CANCELED:
            return True
        error = getattr(error, "original_error", None) or error.__cause__
    return False


def statement_timeout_error(formatted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer for a cancelled statement: QUERY_TOO_COMPLEX, never INTERNAL (the client's query was too slow)."""
    limit = settings.LEDGER_STATEMENT_TIMEOUT_MS
    return {
        **(formatted or {}),
        "message": f"A database statement ran past the {limit} ms limit and was cancelled; nothing of it was kept.",
        "extensions": {"code": codes.QUERY_TOO_COMPLEX, "statementTimeoutMs": limit},
    }


class OperationNames:
    """Bounded label values for the latency histogram: short identifiers, at most ``limit`` distinct."""

    pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

    def __init__(self, limit: int = 200) -> None:
        self.limit, self.seen = limit, set[str]()

    def label(self, name: str | None) -> str:
        if not name or not self.pattern.match(name):
            return "anonymous"
        if name not in self.seen:
            if len(self.seen) >= self.limit:
                return "other"
            self.seen.add(name)
        return name


class LedgerGraphQLView(GraphiQLOfflineView):  # GraphQLView, rendering GraphiQL from the package's local assets
    graphiql = True  # offered only when settings allow it: see can_display_graphiql
    execution_context_class = LedgerExecutionContext
    validation_rules = (*specified_rules, QueryDepthRule)
    documents = DocumentCache()
    operation_names = OperationNames()

    def __init__(self, **kwargs: Any) -> None:
        # No graphene middleware: in DEBUG the default adds DjangoDebugMiddleware, which wraps every
        # resolver (and its errors) for a `_debug` field this API does not have.
        kwargs.setdefault("middleware", ())
        super().__init__(**kwargs)
        self.media = APPLICATION_JSON
        self.started = time.perf_counter()
        self.operation: OperationDefinitionNode | None = None
        self.cost: Cost | None = None  # echoed in `extensions.cost` once measured
        self.crashed = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:
        # Key requests need no CSRF token; session requests pass Django's check in access.authentication.
        return csrf_exempt(super().as_view(**initkwargs))

    @classmethod
    def can_display_graphiql(cls, request: HttpRequest, data: Any) -> bool:
        enabled = settings.DEBUG or settings.LEDGER_GRAPHIQL
        return bool(
            enabled and request.method == "GET" and "raw" not in request.GET and cls.request_wants_html(request)
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.media, self.started = response_media_type(request), time.perf_counter()
        try:
            if request.method not in ("GET", "POST"):
                raise HttpProblem(
                    405, codes.METHOD_NOT_ALLOWED, "GraphQL is served over GET and POST.", {"Allow": "GET, POST"}
                )
            self.check_declared_length(request)  # like a proxy's body limit: before anything else
            if self.can_display_graphiql(request, {}):
                # The parent renders the page (and sets the CSRF cookie its requests send back).
                # The page is static; every request it makes authenticates like any other.
                return super().dispatch(request, *args, **kwargs)
            try:
                authenticate(request)
            except NotAuthenticated as refusal:
                raise HttpProblem(
                    401, codes.UNAUTHENTICATED, str(refusal), {"WWW-Authenticate": 'Bearer realm="ledger"'}
                ) from None
            except CsrfFailed as refusal:
                raise HttpProblem(403, codes.FORBIDDEN, str(refusal)) from None
            body, status = self.get_response(request, self.parse_body(request))
            return self.respond(body, status)
        except HttpProblem as problem:
            return self.refuse(problem)
        except Exception:  # ours (the database is down, a bug): logged whole, answered with nothing of it
            logger.exception("GraphQL request failed")
            return self.refuse(HttpProblem(500, codes.INTERNAL, INTERNAL_MESSAGE))

    def refuse(self, problem: HttpProblem) -> HttpResponse:
        response = self.respond(
            json.dumps({"errors": [{"message": problem.message, "extensions": {"code": problem.code}}]}),
            problem.status,
        )
        for header, value in problem.headers.items():
            response[header] = value
        return response

    def respond(self, body: str, status: int) -> HttpResponse:
        return HttpResponse(body, status=status, content_type=f"{self.media}; charset=utf-8")

    @staticmethod
    def check_declared_length(request: HttpRequest) -> None:
        """413 on ``Content-Length`` alone, before authentication: refusing it reveals nothing and reads nothing."""
        limit = settings.LEDGER_MAX_BODY_BYTES
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpProblem(400, codes.BAD_REQUEST, "Content-Length is not a number.") from None
        if declared > limit:
            raise HttpProblem(413, codes.PAYLOAD_TOO_LARGE, f"The request body is over {limit} bytes.")

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        """The POST body as a JSON object, read up to the size limit; GET carries its parameters in the URL."""
        if request.method != "POST":
            return {}
        limit = settings.LEDGER_MAX_BODY_BYTES
        body = request.read(limit + 1)  # the declared length was checked; the read holds whatever it said
        if len(body) > limit:
            raise HttpProblem(413, codes.PAYLOAD_TOO_LARGE, f"The request body is over {limit} bytes.")
        charset = (request.content_params or {}).get("charset", "utf-8").lower()
        if request.content_type != APPLICATION_JSON or charset not in ("utf-8", "utf8"):
            raise HttpProblem(400, codes.BAD_REQUEST, "POST a JSON body with Content-Type: application/json.")
        try:
            data = json.loads(body.decode("utf-8"))  # UTF-8 only, as the spec says: no UTF-16 sniffing
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise HttpProblem(400, codes.BAD_REQUEST, "The body is not valid UTF-8 JSON.") from None
        if isinstance(data, list):
            raise HttpProblem(400, codes.BAD_REQUEST, "Batched operations are not accepted: send one per request.")
        if not isinstance(data, dict):
            raise HttpProblem(400, codes.BAD_REQUEST, "The body is not a GraphQL request: send a JSON object.")
        return data

    @staticmethod
    def get_graphql_params(request: HttpRequest, data: dict[str, Any]) -> tuple[str, Any, Any, None]:
        """query, variables, operationName (and no batch id), each of the type the spec requires, else 400."""
        if request.method == "GET":
            data = {key: request.GET.get(key) for key in ("query", "variables", "operationName", "extensions")}
            for key in ("variables", "extensions"):
                if data[key]:
                    try:
                        data[key] = json.loads(data[key])
                    except (ValueError, RecursionError):
                        raise HttpProblem(400, codes.BAD_REQUEST, f"`{key}` is not valid JSON.") from None
                else:
                    data[key] = None
        query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
        if not isinstance(query, str) or not query.strip():
            raise HttpProblem(400, codes.BAD_REQUEST, "A GraphQL request needs a `query` string.")
        for key in ("variables", "extensions"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                raise HttpProblem(400, codes.BAD_REQUEST, f"`{key}` must be a JSON object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise HttpProblem(400, codes.BAD_REQUEST, "`operationName` must be a string.")
        return query, variables, operation_name or None, None

    def get_response(self, request: HttpRequest, data: dict[str, Any], show_graphiql: bool = False) -> tuple[str, int]:
        """The JSON body and status of a GraphQL request (GraphQL over HTTP, per media type)."""
        query, variables, operation_name, _ = self.get_graphql_params(request, data)
        result = self.execute_graphql_request(request, data, query, variables, operation_name, show_graphiql)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [self.format_error(error) for error in result.errors]
        # A request error (parse, validation, variables, cost) never started execution: no `data` entry.
        request_error = result.data is None and all(error.path is None for error in result.errors or ())
        if not request_error:
            body["data"] = result.data
        if self.cost is not None:
            body["extensions"] = {"cost": self.cost.as_extension()}
        status = 200
        if self.media == GRAPHQL_RESPONSE_JSON and request_error:
            status = 500 if self.crashed else 400
        operation = self.operation
        encoded = self.json_encode(request, body)
        if not request_error and operation is not None and operation.operation != OperationType.MUTATION:
            encoded = self.within_response_budget(request, body, encoded)
        metrics.REQUEST_LATENCY.labels(
            operation.operation.value if operation else "invalid",
            self.operation_names.label(operation.name.value if operation and operation.name else None),
        ).observe(time.perf_counter() - self.started)
        return encoded, status

    def within_response_budget(self, request: HttpRequest, body: dict[str, Any], encoded: str) -> str:
        """``encoded``, or a QUERY_TOO_COMPLEX answer in its place when it is over ``LEDGER_MAX_RESPONSE_BYTES``.

        A backstop for what the estimate cannot see (long strings). Queries
        only: a mutation's answer is sent whole, since its changes are
        committed and the client must learn them (the estimate bounds it).
        """
        limit = settings.LEDGER_MAX_RESPONSE_BYTES
        size = len(encoded) if encoded.isascii() else len(encoded.encode("utf-8"))
        if size <= limit:
            return encoded
        refused = {
            "message": f"The response is {size} bytes, over the {limit}-byte limit: ask for fewer fields or rows.",
            "extensions": {"code": codes.QUERY_TOO_COMPLEX, "responseBytes": size, "maxResponseBytes": limit},
        }
        withheld: dict[str, Any] = {"errors": [refused], "data": None}
        if "extensions" in body:
            withheld["extensions"] = body["extensions"]
        return self.json_encode(request, withheld)

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: dict[str, Any],
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> ExecutionResult:
        schema = self.schema.graphql_schema
        document, problems = self.documents.get(schema, query, tuple(self.validation_rules))
        if document is None:
            return ExecutionResult(None, list(problems))
        operation = get_operation_ast(document, operation_name)
        if operation is not None and request.method == "GET" and operation.operation != OperationType.QUERY:
            raise HttpProblem(
                405,
                codes.METHOD_NOT_ALLOWED,
                f"A {operation.operation.value} must be sent with POST.",
                {"Allow": "POST"},
            )
        if problems:
            return ExecutionResult(None, list(problems))
        if operation is None:
            message = f"No operation named {operation_name!r}." if operation_name else "Name the operation to run."
            return ExecutionResult(None, [GraphQLError(message, extensions={"code": codes.GRAPHQL_VALIDATION_FAILED})])
        self.operation = operation
        cost = estimate_cost(schema, document, operation, variables)
        if isinstance(cost, GraphQLError):  # too large to even measure
            return ExecutionResult(None, [cost])
        self.cost = cost
        too_costly = cost.refusal(operation)
        if too_costly is not None:
            return ExecutionResult(None, [too_costly])
        budget_ms = settings.LEDGER_REQUEST_BUDGET_MS
        budget = RequestBudget(self.started, budget_ms, operation.operation) if budget_ms > 0 else None
        request.ledger_budget = budget  # type: ignore[attr-defined]  # read by LedgerExecutionContext.execute_field
        try:
            if cost.statements:  # an operation that reaches no database field needs no timeout
                bound_statements(settings.LEDGER_STATEMENT_TIMEOUT_MS)
            result = execute(
                schema,
                document,
                root_value=self.get_root_value(request),
                context_value=self.get_context(request),
                variable_values=variables,
                operation_name=operation_name,
                middleware=self.get_middleware(request),
                execution_context_class=self.execution_context_class,
            )
        except Exception as failure:  # a failure of ours outside any resolver: the detail goes to the log only
            if statement_timed_out(failure):
                logger.warning("A statement ran past the statement timeout outside any resolver")
                timed_out = statement_timeout_error()
                return ExecutionResult(None, [GraphQLError(timed_out["message"], extensions=timed_out["extensions"])])
            logger.exception("GraphQL execution failed")
            self.crashed = True
            return ExecutionResult(None, [GraphQLError(INTERNAL_MESSAGE, extensions={"code": codes.INTERNAL})])
        assert isinstance(result, ExecutionResult), "resolvers must be synchronous"
        if budget is not None and budget.exceeded and result.errors:
            # Every field refused after the deadline raised its own error: one says it all.
            first = next((error for error in result.errors if isinstance(error, BudgetExceeded)), None)
            result.errors = [
                error for error in result.errors if error is first or not isinstance(error, BudgetExceeded)
            ]
        return result

    @staticmethod
    def format_error(error: Exception) -> dict[str, Any]:
        """Every error carries ``extensions.code``; an unexpected one becomes INTERNAL and leaks nothing."""
        if not isinstance(error, GraphQLError):
            logger.error("Unexpected error outside GraphQL", exc_info=error)
            return {"message": INTERNAL_MESSAGE, "extensions": {"code": codes.INTERNAL}}
        if (error.extensions or {}).get("code"):
            return dict(error.formatted)
        if isinstance(error.original_error, PermissionDenied):
            return {**error.formatted, "message": "Permission denied.", "extensions": {"code": codes.FORBIDDEN}}
        if statement_timed_out(error.original_error):
            logger.warning("Statement timeout resolving %s", ".".join(map(str, error.path or ())))
            return statement_timeout_error(formatted=dict(error.formatted))
        if error.path is None:
            # Only request errors lack a path (variables of the wrong type): the client's mistake.
            return {
                **error.formatted,
                "extensions": {**(error.extensions or {}), "code": codes.GRAPHQL_VALIDATION_FAILED},
            }
        # A resolver raised, or returned what its type forbids: ours. Log it whole, answer nothing of it.
        logger.error(
            "Unexpected error resolving %s", ".".join(map(str, error.path)), exc_info=error.original_error or error
        )
        formatted: dict[str, Any] = {"message": INTERNAL_MESSAGE}
        if error.locations:
            formatted["locations"] = [location.formatted for location in error.locations]
        formatted["path"] = error.path
        formatted["extensions"] = {"code": codes.INTERNAL}
        return formatted


@receiver(setting_changed)
def _forget_verdicts(*, setting: str, **kwargs: Any) -> None:
    """Cached verdicts include the depth limit: a test that changes it must not see stale ones."""
    if setting == "LEDGER_MAX_DEPTH":
        LedgerGraphQLView.documents.clear()


graphql_view = LedgerGraphQLView.as_view()
