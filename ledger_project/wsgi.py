"""WSGI entry point: ``gunicorn ledger_project.wsgi`` (and ``runserver``, through WSGI_APPLICATION)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from core.checks import SECRET_KEY_MISSING

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
if settings.SECRET_KEY_MISSING:
    # Sessions, CSRF tokens and admin password resets are signed with it: never serve with a throwaway.
    raise ImproperlyConfigured(SECRET_KEY_MISSING)
application = get_wsgi_application()
