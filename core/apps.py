from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Ledger core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from core import checks  # noqa: F401  (registers the system checks)
        from core.dbroles import grant_after_migrate
        from core.timestamps import use_c_timestamptz_loader

        # Once per migrate (this app's signal): grants the app's database role when configured.
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="ledger_grant_app_role")
        # Every new database connection, of every alias: psycopg's C timestamptz loader (core.timestamps).
        connection_created.connect(use_c_timestamptz_loader, dispatch_uid="ledger_c_timestamptz_loader")
