"""The GraphQL suites' clients, for the audit trail's tests."""

from tests.graphql.conftest import gql, gql_as, superuser

__all__ = ["gql", "gql_as", "superuser"]
