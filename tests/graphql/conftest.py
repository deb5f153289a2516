"""The schema executed in-process with a request-like context, as the HTTP view does (HTTP itself: tests/http)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import RequestFactory
from graphql import ExecutionResult

from accounts.models import Account
from core.graphql.node import global_id
from ledger_project.schema import schema
from transactions.models import Entry, Transaction

_users = itertools.count(1)


class Gql:
    """Runs operations as one user; ``__call__`` insists on no errors, ``result`` shows them."""

    def __init__(self, user: User, **request_attrs: Any) -> None:
        self.user, self.request_attrs = user, request_attrs

    def request(self) -> Any:
        request = RequestFactory().post("/graphql")
        request.user = self.user
        for name, value in self.request_attrs.items():
            setattr(request, name, value)
        return request

    def result(self, query: str, **variables: Any) -> ExecutionResult:
        return schema.execute(query, context_value=self.request(), variable_values=variables)

    def __call__(self, query: str, **variables: Any) -> Any:
        result = self.result(query, **variables)
        if result.errors:
            raise AssertionError(result.errors)
        return result.data

    def errors(self, query: str, **variables: Any) -> list[dict[str, Any]]:
        """The formatted top-level errors (``extensions`` and ``path`` included)."""
        result = self.result(query, **variables)
        assert result.errors, result.data
        return [dict(error.formatted) for error in result.errors]


def user_with(*perms: str) -> User:
    user = User.objects.create_user(f"graphql-user-{next(_users)}")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh object: no stale permission cache


def gid(obj: Account | Transaction | Entry) -> str:
    type_name = {Account: "Account", Transaction: "Transaction", Entry: "Entry"}[type(obj)]
    return global_id(type_name, obj.pk)


@pytest.fixture
def superuser(settlement: Account) -> User:
    return User.objects.create_superuser(f"bank-{next(_users)}", password="x")


@pytest.fixture
def gql(superuser: User) -> Gql:
    return Gql(superuser)


@pytest.fixture
def gql_as(settlement: Account) -> Any:
    """``gql_as("accounts.view_account", ...)``: a client whose user holds exactly these permissions."""

    def make(*perms: str, **request_attrs: Any) -> Gql:
        return Gql(user_with(*perms), **request_attrs)

    return make
