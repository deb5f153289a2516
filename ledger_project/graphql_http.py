"""GraphQL over HTTP, the transport half: media types, the request's parts, and refusals before GraphQL runs.

Each function reads one part of the request as the GraphQL over HTTP spec
wants it and raises ``HttpProblem`` (a status, one coded error) when it is
not; the view (``ledger_project.views``) answers the problem and runs nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from graphql import OperationDefinitionNode, OperationType

from core.graphql import errors as codes

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


class HttpProblem(Exception):
    """A refusal before GraphQL runs: an HTTP status and one coded error."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def body(self) -> str:
        return json.dumps({"errors": [{"message": self.message, "extensions": {"code": self.code}}]})


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
        q = _quality(params)
        if q > best_q:  # ties keep the earlier one: the client listed it first
            best, best_q = candidate, q
    return best


def _quality(params: list[str]) -> float:
    """The ``q`` of a media range's parameters: 1 when absent, 0 when unreadable."""
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return q


def check_method(request: HttpRequest) -> None:
    if request.method not in ("GET", "POST"):
        raise HttpProblem(405, codes.METHOD_NOT_ALLOWED, "GraphQL is served over GET and POST.", {"Allow": "GET, POST"})


def check_operation_method(request: HttpRequest, operation: OperationDefinitionNode | None) -> None:
    """GET runs queries only: a mutation sent with GET would let a link or an image tag move money."""
    if operation is not None and request.method == "GET" and operation.operation != OperationType.QUERY:
        raise HttpProblem(
            405, codes.METHOD_NOT_ALLOWED, f"A {operation.operation.value} must be sent with POST.", {"Allow": "POST"}
        )


def check_declared_length(request: HttpRequest) -> None:
    """413 on ``Content-Length`` alone, before authentication: refusing it reveals nothing and reads nothing."""
    limit = settings.LEDGER_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise HttpProblem(400, codes.BAD_REQUEST, "Content-Length is not a number.") from None
    if declared > limit:
        raise HttpProblem(413, codes.PAYLOAD_TOO_LARGE, f"The request body is over {limit} bytes.")


def read_json_body(request: HttpRequest) -> dict[str, Any]:
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


def graphql_params(request: HttpRequest, data: dict[str, Any], text: str | None = None) -> tuple[str, Any, str | None]:
    """query, variables, operationName, each of the type the spec requires, else 400.

    ``text``, when given, is the document to run in place of ``query`` (a stored one named by hash: ``trusted.gate``).
    """
    if request.method == "GET":
        data = _url_params(request)
    query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
    query = text if text is not None else query
    if not isinstance(query, str) or not query.strip():
        raise HttpProblem(400, codes.BAD_REQUEST, "A GraphQL request needs a `query` string.")
    for key in ("variables", "extensions"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise HttpProblem(400, codes.BAD_REQUEST, f"`{key}` must be a JSON object.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpProblem(400, codes.BAD_REQUEST, "`operationName` must be a string.")
    return query, variables, operation_name or None


def _url_params(request: HttpRequest) -> dict[str, Any]:
    """A GET request's parameters, ``variables`` and ``extensions`` decoded from JSON."""
    data: dict[str, Any] = {key: request.GET.get(key) for key in ("query", "variables", "operationName", "extensions")}
    for key in ("variables", "extensions"):
        if data[key]:
            try:
                data[key] = json.loads(data[key])
            except (ValueError, RecursionError):
                raise HttpProblem(400, codes.BAD_REQUEST, f"`{key}` is not valid JSON.") from None
        else:
            data[key] = None
    return data
