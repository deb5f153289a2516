"""The GraphQL endpoint: graphene-django's ``GraphQLView``, made strict about HTTP.

The subclass keeps the parent's shape (``dispatch`` → ``parse_body`` →
``get_graphql_params`` → ``get_response`` → ``execute_graphql_request`` →
``format_error``, GraphiQL through ``render_graphiql``) and tightens each
step, as docs/HTTP.md explains. Each job has its own module; this one runs
them in order:

- the transport (methods, media types, body, 413, no batches):
  ``ledger_project.graphql_http``, whose ``HttpProblem`` refusals answer
  before GraphQL runs;
- authentication before anything runs: ``access.authentication``;
- the document by hash or by text, and whether ``LEDGER_DOCUMENTS`` lets it
  run: ``trusted.gate`` (stored documents compiled and measured once per
  process: ``trusted.store``);
- parsed and validated documents, cached per process: ``core.graphql.documents``;
- cost limits before execution: ``core.graphql.cost``; their backstops during
  it (a statement timeout, a wall-clock budget, a response size budget):
  ``core.graphql.backstops``;
- an ``extensions.code`` on every error, INTERNAL ones leaking nothing:
  ``core.graphql.errors``;
- the latency histogram, its operation names capped: ``core.metrics``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import orjson
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
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
    specified_rules,
)

from access.authentication import CsrfFailed, NotAuthenticated, authenticate
from access.devkey import current_dev_key
from core import metrics, replica
from core.db import connection_lost
from core.graphql import errors as codes
from core.graphql.backstops import one_budget_error, request_budget, statements_bounded, within_response_budget
from core.graphql.cost import Cost, QueryDepthRule, estimate_cost
from core.graphql.documents import DocumentCache
from core.graphql.errors import format_error, internal_error, statement_timed_out, statement_timeout_error
from core.graphql.execution import LedgerExecutionContext
from core.routing import REPLICA_ALIAS, reads_from_replica
from ledger_project.graphql_http import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    HttpProblem,
    check_declared_length,
    check_method,
    check_operation_method,
    graphql_params,
    read_json_body,
    response_media_type,
)
from trusted.gate import admit_document
from trusted.store import Stored
from trusted.store import store as stored_documents

logger = logging.getLogger("ledger.graphql")

# A mutation's answer carries its commit position; a query that sends it back reads no older data.
READ_AFTER_HEADER = "Ledger-Read-After"


# What GraphiQL opens on: a ledger query of our own, and how to authenticate it.
GRAPHIQL_DEFAULT_QUERY = """# The ledger's GraphQL API. Run this query with the
# button on the right (or Ctrl-Enter).
#
# Authenticate with a staff session (log in at
# /admin/) or an API key in the Headers pane below:
#   {"Authorization": "Bearer <api key>"}
# In development (make run) the dev key is there.
#
# Amounts are strings ("1234.50"), instants ISO-8601
# in UTC, lists oldest first. The Docs pane explains
# every field and error code; see docs/CLIENTS.md.

query FirstAccounts {
  accounts(first: 5) {
    totalCount
    edges {
      node {
        id
        name
        document
        balance
        availableBalance
        transactions(last: 3) {
          edges {
            node { type status amount createdAt }
          }
        }
      }
    }
  }
}
"""


def admin_login_url(then: str) -> str | None:
    """The admin's sign-in page, coming back to ``then``; None where no admin is mounted (test URLconfs)."""
    try:
        return f"{reverse('admin:login')}?next={then}"
    except NoReverseMatch:
        return None


def unavailable() -> HttpProblem:
    """503 with Retry-After: the database went away mid-request; the outcome of a write may be unknown."""
    return HttpProblem(503, codes.UNAVAILABLE, codes.UNAVAILABLE_MESSAGE, {"Retry-After": "1"})


class LedgerGraphQLView(GraphiQLOfflineView):  # GraphQLView, rendering GraphiQL from the package's local assets
    graphiql = True  # offered only when settings allow it: see can_display_graphiql
    execution_context_class = LedgerExecutionContext
    validation_rules = (*specified_rules, QueryDepthRule)
    documents = DocumentCache()

    def __init__(self, **kwargs: Any) -> None:
        # No graphene middleware: in DEBUG the default adds DjangoDebugMiddleware, which wraps every
        # resolver (and its errors) for a `_debug` field this API does not have.
        kwargs.setdefault("middleware", ())
        super().__init__(**kwargs)
        self.media = APPLICATION_JSON
        self.started = time.perf_counter()
        self.operation: OperationDefinitionNode | None = None
        self.cost: Cost | None = None  # echoed in `extensions.cost` once measured
        self.stored: Stored | None = None  # the trusted document the request runs (trusted.gate), if any
        self.read_after: str | None = None  # a mutation's commit position (core.replica)
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
            check_method(request)
            check_declared_length(request)  # like a proxy's body limit: before anything else
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
        except Exception as failure:  # ours (the database is down, a bug): logged whole, answered with nothing of it
            if connection_lost(failure):
                logger.warning("The database connection was lost before GraphQL ran")
                return self.refuse(unavailable())
            logger.exception("GraphQL request failed")
            return self.refuse(HttpProblem(500, codes.INTERNAL, codes.INTERNAL_MESSAGE))

    def render_graphiql(self, request: HttpRequest, **data: Any) -> HttpResponse:
        """Our page (core/templates/ledger/graphiql.html): our query; in DEBUG only, the dev key's header."""
        dev_key = current_dev_key()
        headers = json.dumps({"Authorization": f"Bearer {dev_key}"}, indent=2) if dev_key else None
        context = {
            "authenticated": bool(dev_key) or request.user.is_authenticated,
            "login_url": admin_login_url(request.path),
            "graphiql_settings": {"url": request.path, "defaultQuery": GRAPHIQL_DEFAULT_QUERY, "headers": headers},
        }
        return render(request, "ledger/graphiql.html", context)

    def refuse(self, problem: HttpProblem) -> HttpResponse:
        response = self.respond(problem.body(), problem.status)
        for header, value in problem.headers.items():
            response[header] = value
        if problem.code == codes.UNAVAILABLE:
            # Expected in a failover and already logged as a warning: not django.request's ERROR per request.
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    def respond(self, body: str, status: int) -> HttpResponse:
        response = HttpResponse(body, status=status, content_type=f"{self.media}; charset=utf-8")
        if self.read_after is not None:
            response[READ_AFTER_HEADER] = self.read_after
        return response

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return read_json_body(request)

    def json_encode(self, request: HttpRequest, d: dict[str, Any], pretty: bool = False) -> str:
        """The response body, by orjson (several times faster than ``json``); ``?pretty`` as graphene-django."""
        if self.pretty or pretty or request.GET.get("pretty"):
            return str(super().json_encode(request, d, pretty))
        return orjson.dumps(d).decode()

    def get_graphql_params(self, request: HttpRequest, data: dict[str, Any]) -> tuple[str, Any, str | None, None]:
        """query, variables, operationName (and no batch id); the mode's check on the document first."""
        text, self.stored = admit_document(request, data, self.media)
        return (*graphql_params(request, data, text), None)

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
        if self.read_after is not None:
            body.setdefault("extensions", {})["readAfter"] = self.read_after
        status = 200
        if self.media == GRAPHQL_RESPONSE_JSON and request_error:
            status = 500 if self.crashed else 400
        operation = self.operation
        encoded = self.json_encode(request, body)
        if not request_error and operation is not None and operation.operation != OperationType.MUTATION:
            encoded = within_response_budget(body, encoded, lambda withheld: self.json_encode(request, withheld))
        metrics.observe_graphql_request(
            operation.operation.value if operation else "invalid",
            operation.name.value if operation and operation.name else None,
            time.perf_counter() - self.started,
        )
        return encoded, status

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
        admitted = self.admit(request, schema, query, variables, operation_name)
        if isinstance(admitted, ExecutionResult):
            return admitted
        return self.run(request, schema, admitted, variables, operation_name)

    def admit(
        self,
        request: HttpRequest,
        schema: GraphQLSchema,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> DocumentNode | ExecutionResult:
        """The document to run, or the request error that refuses it (parse, validation, operation, cost)."""
        rules = tuple(self.validation_rules)
        stored = self.stored
        if stored is not None:
            document, problems = stored_documents.compiled(stored, schema, rules)
        else:
            document, problems = self.documents.get(schema, query, rules)
        if document is None:
            return ExecutionResult(None, list(problems))
        operation = get_operation_ast(document, operation_name)
        check_operation_method(request, operation)
        if problems:
            return ExecutionResult(None, list(problems))
        if operation is None:
            message = f"No operation named {operation_name!r}." if operation_name else "Name the operation to run."
            return ExecutionResult(None, [GraphQLError(message, extensions={"code": codes.GRAPHQL_VALIDATION_FAILED})])
        self.operation = operation
        if stored is not None:
            cost = stored_documents.cost(stored, schema, document, operation, variables)
        else:
            cost = estimate_cost(schema, document, operation, variables)
        if isinstance(cost, GraphQLError):  # too large to even measure
            return ExecutionResult(None, [cost])
        self.cost = cost
        too_costly = cost.refusal(operation)
        return document if too_costly is None else ExecutionResult(None, [too_costly])

    def run(
        self,
        request: HttpRequest,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> ExecutionResult:
        """Executes the admitted operation under the backstops."""
        assert self.operation is not None and self.cost is not None
        budget = request_budget(self.started, self.operation.operation)
        request.ledger_budget = budget  # type: ignore[attr-defined]  # read by LedgerExecutionContext.execute_field
        query = self.operation.operation == OperationType.QUERY
        # A query may read on the standby when that cannot show the client less than it saw.
        on_standby = query and replica.read_alias(replica.parse_token(request.headers.get(READ_AFTER_HEADER))) == (
            REPLICA_ALIAS
        )
        try:
            with ExitStack() as bounds, reads_from_replica(on_standby):
                if self.cost.statements:  # an operation that reaches no database field needs no timeout
                    timeout_ms = settings.LEDGER_STATEMENT_TIMEOUT_MS
                    bounds.enter_context(statements_bounded(timeout_ms, reads=query and not on_standby))
                    if on_standby:
                        bounds.enter_context(statements_bounded(timeout_ms, REPLICA_ALIAS, reads=True))
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
            assert isinstance(result, ExecutionResult), "resolvers must be synchronous"
            if any(connection_lost(error.original_error) for error in result.errors or () if error.original_error):
                logger.warning("The database connection was lost during execution")
                raise unavailable()
            if self.operation.operation == OperationType.MUTATION:
                self.read_after = replica.commit_position()
        except HttpProblem:
            raise
        except Exception as failure:  # a failure of ours outside any resolver: the detail goes to the log only
            return self.failed(failure)
        if budget is not None and budget.exceeded and result.errors:
            result.errors = one_budget_error(result.errors)
        return result

    def failed(self, failure: Exception) -> ExecutionResult:
        """The answer when execution itself raised: a cancelled statement is the client's, the rest INTERNAL."""
        if connection_lost(failure):
            logger.warning("The database connection was lost during execution")
            raise unavailable()
        if statement_timed_out(failure):
            logger.warning("A statement ran past the statement timeout outside any resolver")
            timed_out = statement_timeout_error()
            return ExecutionResult(None, [GraphQLError(timed_out["message"], extensions=timed_out["extensions"])])
        logger.exception("GraphQL execution failed", exc_info=failure)
        self.crashed = True
        return ExecutionResult(None, [internal_error()])

    @staticmethod
    def format_error(error: Exception) -> dict[str, Any]:
        return format_error(error)


@receiver(setting_changed)
def _forget_verdicts(*, setting: str, **kwargs: Any) -> None:
    """Cached verdicts include the depth limit, stored costs the limits: a test changing one must not see stale ones."""
    if setting == "LEDGER_MAX_DEPTH":
        LedgerGraphQLView.documents.clear()
    if setting.startswith("LEDGER_MAX_"):
        stored_documents.clear()


graphql_view = LedgerGraphQLView.as_view()
