"""The top floor: admin, the GraphQL endpoint (and its scalars' specifications), health checks and metrics."""

from django.contrib import admin
from django.urls import path

from ledger_project.docs import scalar_spec
from ledger_project.health import healthz, readyz
from ledger_project.metrics import metrics_view
from ledger_project.views import graphql_view
from transactions.admin_statement import urlpatterns as statement_urls

urlpatterns = [
    *statement_urls,  # before the admin's catch-all: /admin/accounts/account/<pk>/statement.csv
    path("admin/", admin.site.urls),
    path("graphql", graphql_view, name="graphql"),
    path("graphql/", graphql_view),
    path("graphql/scalars/<str:name>", scalar_spec, name="scalar-spec"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]
