from django.db import migrations

from transactions.triggers import HOLD_TERMS_IMMUTABLE


class Migration(migrations.Migration):
    """A transaction's capture mode and hold expiry never change (transactions.triggers.HOLD_TERMS_IMMUTABLE)."""

    dependencies = [
        ("transactions", "0007_money_controls"),
    ]

    operations = [
        HOLD_TERMS_IMMUTABLE.operation(),
    ]
