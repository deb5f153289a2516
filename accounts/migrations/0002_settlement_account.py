"""The settlement account exists from the first migration on (CONTRACT.md).

It takes pk 0, outside the sequence, so that the first customer account is
``Account:1`` (``QWNjb3VudDox``), as the API's published examples assume.
"""

from django.db import migrations

SETTLEMENT_DOCUMENT = "00000000000191"


def create_settlement(apps, schema_editor):  # type: ignore[no-untyped-def]
    Account = apps.get_model("accounts", "Account")
    Account.objects.get_or_create(
        kind="SETTLEMENT",
        id=0,
        defaults={"name": "Settlement", "document": SETTLEMENT_DOCUMENT, "document_type": "CNPJ"},
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_settlement, migrations.RunPython.noop)]
