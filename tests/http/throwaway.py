"""A small schema of our own and the URLs that serve it through the real view.

It exercises what the ledger's schema must never do on purpose (a resolver
that raises with SQL in its message, a non-null field that returns null) and
gives the cost rules a recursive type whose depth and page sizes a test sets
exactly. Tests select it with ``@pytest.mark.urls("tests.http.throwaway")``.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.core.exceptions import PermissionDenied
from django.urls import path
from graphql import ExecutionContext

from core.graphql.errors import bad_user_input
from ledger_project.health import healthz, readyz
from ledger_project.views import LedgerGraphQLView

SECRET = 'SELECT "password" FROM "auth_user" WHERE id = 1'
TOUCHED: list[str] = []  # what the mutation did: proof that a refused request ran nothing


class Item(graphene.ObjectType):
    """Recursive, with a connection-like field (first/last arguments) and a plain list."""

    name = graphene.String()
    child = graphene.Field(lambda: Item)
    items = graphene.List(lambda: Item, first=graphene.Int(), last=graphene.Int())
    many = graphene.List(lambda: Item)

    def resolve_name(self, info: Any) -> str:
        return "item"

    def resolve_child(self, info: Any) -> Item:
        return Item()

    def resolve_items(self, info: Any, first: int | None = None, last: int | None = None) -> list[Item]:
        return [Item() for _ in range(min(first if first is not None else (last if last is not None else 10), 3))]

    def resolve_many(self, info: Any) -> list[Item]:
        return [Item(), Item()]


class Query(graphene.ObjectType):
    hello = graphene.String()
    whoami = graphene.String()
    key_read_only = graphene.Boolean()
    boom = graphene.String()
    forbidden = graphene.String()
    refused_input = graphene.String()
    never_null = graphene.NonNull(graphene.String)
    root = graphene.Field(Item)
    items = graphene.List(Item, first=graphene.Int(), last=graphene.Int())
    nodes = graphene.List(Item, ids=graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))))
    echo = graphene.Int(n=graphene.Int(required=True))

    def resolve_hello(self, info: Any) -> str:
        return "world"

    def resolve_whoami(self, info: Any) -> str:
        return info.context.user.get_username()

    def resolve_key_read_only(self, info: Any) -> bool | None:
        key = info.context.api_key
        return None if key is None else key.read_only

    def resolve_boom(self, info: Any) -> str:
        raise RuntimeError(SECRET)

    def resolve_forbidden(self, info: Any) -> str:
        raise PermissionDenied("staff only, see table auth_user")

    def resolve_refused_input(self, info: Any) -> str:
        raise bad_user_input("`first` must be between 0 and 100.", "first")

    def resolve_never_null(self, info: Any) -> None:
        return None

    def resolve_root(self, info: Any) -> Item:
        return Item()

    def resolve_items(self, info: Any, first: int | None = None, last: int | None = None) -> list[Item]:
        return [Item()]

    def resolve_nodes(self, info: Any, ids: list[str]) -> list[Item]:
        return [Item() for _ in ids]

    def resolve_echo(self, info: Any, n: int) -> int:
        return n


class Touch(graphene.Mutation):
    done = graphene.Boolean()

    class Arguments:
        label = graphene.String(required=True)

    def mutate(self, info: Any, label: str) -> Touch:
        TOUCHED.append(label)
        return Touch(done=True)


class Mutation(graphene.ObjectType):
    touch = Touch.Field()


schema = graphene.Schema(query=Query, mutation=Mutation)


class CrashingExecutionContext(ExecutionContext):
    """Fails outside any resolver, as a bug in the execution machinery would."""

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(SECRET)


urlpatterns = [
    path("graphql", LedgerGraphQLView.as_view(schema=schema)),
    path("crashing", LedgerGraphQLView.as_view(schema=schema, execution_context_class=CrashingExecutionContext)),
    path("healthz", healthz),
    path("readyz", readyz),
]
