from typing import Any

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from access.keycache import KEYS
        from access.models import ApiKey

        def forget_keys(**kwargs: Any) -> None:
            """This process's own changes empty its key cache at once, before they commit (access.keycache)."""
            KEYS.clear()

        for model in (ApiKey, get_user_model()):
            post_save.connect(forget_keys, sender=model, dispatch_uid=f"access.forget_keys.save.{model.__name__}")
            post_delete.connect(forget_keys, sender=model, dispatch_uid=f"access.forget_keys.delete.{model.__name__}")
