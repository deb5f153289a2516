from typing import Any

from django.apps import AppConfig


def forget_keys(**kwargs: Any) -> None:
    """This process's own key and user changes empty its key cache at once, before they commit.

    A module-level function: signals hold receivers by weak reference, so a
    function defined inside ``ready`` would be collected when it returned and
    never run (the cache was then emptied only by the listener's NOTIFY, after
    the commit: a window in which a deactivated user's key still passed).
    """
    from access.keycache import KEYS

    KEYS.clear()


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from access.models import ApiKey

        for model in (ApiKey, get_user_model()):
            post_save.connect(forget_keys, sender=model, dispatch_uid=f"access.forget_keys.save.{model.__name__}")
            post_delete.connect(forget_keys, sender=model, dispatch_uid=f"access.forget_keys.delete.{model.__name__}")
