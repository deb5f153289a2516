from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        # The mutation machinery (core) audits the refusals no service saw with this app's function.
        from audit.services import audit_unrecorded
        from core.graphql.mutations import record_refusals_with

        record_refusals_with(audit_unrecorded)
