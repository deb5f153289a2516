from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Ledger core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import checks  # noqa: F401  (registers the system checks)
        from core.dbroles import grant_after_migrate

        # Once per migrate (this app's signal): grants the app's database role when configured.
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="ledger_grant_app_role")
