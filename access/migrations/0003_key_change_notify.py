"""NOTIFY the per-process key caches of every key or user change (issue 16): access/triggers.py."""

from django.conf import settings
from django.db import migrations

from access.triggers import KEY_CHANGES


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0002_apikey_any_document"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [KEY_CHANGES.operation()]
