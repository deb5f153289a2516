"""Makes an API key for a user and prints it alone on the last line of stdout."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from access.services import api_key_create


class Command(BaseCommand):
    help = (
        "Creates an API key for USERNAME and prints the key alone on the last line of stdout (shown once; only "
        "its hash is stored), so that `KEY=$(manage.py create_api_key bob | tail -n 1)` works. The key acts with "
        "the user's Django permissions (grant them in the admin); a --read-only key can never mutate. Revoke keys "
        "in the admin or with revoke_api_key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the Django user the key acts as")
        parser.add_argument("--create-user", action="store_true", help="create the user when it does not exist")
        parser.add_argument("--superuser", action="store_true", help="make the user a superuser (all permissions)")
        parser.add_argument("--read-only", action="store_true", help="the key can only read, whatever the user may do")
        parser.add_argument("--name", default="", help="a label for the key, shown in the admin")
        parser.add_argument(
            "--any-document",
            action="store_true",
            help="the key may send any GraphQL text when LEDGER_DOCUMENTS=trusted (internal tools, staff's GraphiQL)",
        )

    @transaction.atomic
    def handle(
        self,
        *args: Any,
        username: str,
        create_user: bool = False,
        superuser: bool = False,
        read_only: bool = False,
        name: str = "",
        any_document: bool = False,
        **options: Any,
    ) -> None:
        users = get_user_model()
        user = users.objects.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"no user {username!r}: pass --create-user to create it")
            user = users.objects.create_user(username=username)  # no password: it acts through keys only
            self.stderr.write(f"created user {username}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: its keys would be refused")
        if superuser and not user.is_superuser:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
            self.stderr.write(f"{username} is now a superuser")
        _, token = api_key_create(user=user, name=name, read_only=read_only, any_document=any_document)
        kind = ("read-only API key" if read_only else "API key") + (" for any document" if any_document else "")
        self.stderr.write(f"created an {kind} for {username}; store it now, it is not shown again:")
        self.stdout.write(token)
