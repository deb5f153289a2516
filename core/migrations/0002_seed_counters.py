"""The settlement account (accounts 0002) counts as one account."""

from django.db import migrations


def count_settlement(apps, schema_editor):  # type: ignore[no-untyped-def]
    Counter = apps.get_model("core", "Counter")
    Account = apps.get_model("accounts", "Account")
    Counter.objects.update_or_create(name="accounts", slot=0, defaults={"value": Account.objects.count()})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("accounts", "0002_settlement_account")]
    operations = [migrations.RunPython(count_settlement, migrations.RunPython.noop)]
