"""Revokes API keys by prefix (as the admin lists it) or every key of a user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.models import ApiKey
from access.services import PREFIX_LENGTH, api_key_revoke


class Command(BaseCommand):
    help = (
        "Revokes the API key whose prefix is PREFIX (its first 12 characters, e.g. ldg_AbCdEfGh, as the admin "
        "lists them; the whole key works too), or every active key of --user USERNAME. A revoked key is refused "
        "from its next request on. Exit code 1 when no active key matches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="?", help="the key's prefix, or the whole key")
        parser.add_argument("--user", help="revoke every active key of this user")

    def handle(self, *args: Any, prefix: str | None = None, user: str | None = None, **options: Any) -> None:
        if bool(prefix) == bool(user):
            raise CommandError("give either a key prefix or --user USERNAME")
        keys = ApiKey.objects.filter(revoked_at__isnull=True).order_by("pk")
        keys = keys.filter(prefix=prefix[:PREFIX_LENGTH]) if prefix else keys.filter(user__username=user)
        revoked = [key.prefix for key in keys if api_key_revoke(key=key, actor="system:revoke_api_key")]
        if not revoked:
            raise CommandError("no active key matches")
        self.stdout.write(f"revoked {len(revoked)} key(s): {', '.join(revoked)}")
