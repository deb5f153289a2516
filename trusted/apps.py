from django.apps import AppConfig


class TrustedConfig(AppConfig):
    name = "trusted"
    verbose_name = "Trusted documents"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from trusted.deploy import import_after_migrate

        # Once per migrate (this app's signal): the documents LEDGER_DOCUMENTS_IMPORT names, so a deploy's
        # migrate step stores the operations its apps were built with before the app starts.
        post_migrate.connect(import_after_migrate, sender=self, dispatch_uid="ledger_import_documents")
