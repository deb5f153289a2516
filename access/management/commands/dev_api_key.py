"""For ``make run``: a development superuser, a fresh key, and a curl that works with it."""

from __future__ import annotations

import json
import shlex
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.devkey import dev_key_file, write_dev_key
from access.services import api_key_create

USERNAME = "dev"
QUERY = "{ accounts(first: 5) { totalCount edges { node { id name balance } } } }"


class Command(BaseCommand):
    help = (
        "Development only (DEBUG on): ensures the 'dev' superuser (password 'dev'), makes a fresh API key for it "
        "and prints the key with a ready-to-paste curl against http://HOST:PORT/graphql."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("dev_api_key runs only with DEBUG on; in production use create_api_key")
        users = get_user_model()
        user, created = users.objects.get_or_create(username=USERNAME)
        if created or not (user.is_superuser and user.is_active):
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(USERNAME)
            user.save()
        _, token = api_key_create(user=user, name="make run")
        write_dev_key(token)  # GraphiQL prefills it in its Headers pane (DEBUG only: access.devkey)
        base = f"http://{host}:{port}"
        curl = (
            f"curl -s {base}/graphql -H {shlex.quote(f'Authorization: Bearer {token}')} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps({'query': QUERY}))}"
        )
        self.stdout.write(
            f"\nDevelopment API key for user '{USERNAME}' (password '{USERNAME}' for {base}/admin/ and GraphiQL at "
            f"{base}/graphql, where it is prefilled from {dev_key_file().name}):\n  {token}\n\nTry it:\n  {curl}\n"
        )
