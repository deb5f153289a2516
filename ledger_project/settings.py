"""Settings, all read from the environment, with safe production defaults.

Every knob has one home: this module. The rest of the code imports from
``django.conf.settings``. README.md's configuration table lists each variable.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from core.dburl import DatabaseURLError, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Reads a boolean the way operators write them (1/true/yes/on)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Without one when DEBUG is off, gunicorn (ledger_project/wsgi.py) and every command that
# runs system checks refuse (core.checks); a command that signs nothing and runs no
# checks (graphql_schema) works on a bare checkout, with a throwaway key.
SECRET_KEY_MISSING = not SECRET_KEY and not DEBUG
if not SECRET_KEY:
    # DEBUG: a fixed, obviously-insecure key so sessions survive restarts.
    SECRET_KEY = (
        "django-insecure-development-only-key-do-not-use-in-production"
        if DEBUG
        else "unset-" + secrets.token_urlsafe(50)
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "core.adminsite.LedgerAdminConfig",  # django.contrib.admin, its lists on the standby when safe
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "graphene_django",
    "graphene_django_graphiql_static",
    "core",
    "audit",
    "accounts",
    "transactions",
    "access",
    "trusted",
    "axes",
]

MIDDLEWARE = [
    "ledger_project.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Django's session, auth and messages middleware, each stepping aside for a bearer request
    # to the API, which uses none of them (ledger_project.middleware.bearer_api_request). CSRF stays
    # Django's own class: `check --deploy` asks for it by name (security.W003), and on a bearer
    # request (a csrf_exempt view) it only reads the cookie header.
    "ledger_project.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "ledger_project.middleware.AuthenticationMiddleware",
    "ledger_project.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ledger_project.urls"
WSGI_APPLICATION = "ledger_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL; unset, an embedded SQLite file. SQLite runs in
# WAL mode with IMMEDIATE transactions so that writers queue on the database lock
# instead of failing with "database is locked" half-way through a transfer.
#
# A multi-host URL (postgres://h1:p1,h2:p2/ledger?target_session_attrs=read-write) follows the
# primary of an HA pair through a failover (deploy/ha/README.md, core/dburl.py). Health checks
# replace, at the next request, a persistent connection to a node that died or was demoted.
#
# DATABASE_POOLER=pgbouncer: both URLs point at pgbouncer in transaction mode (deploy/pgbouncer/):
# no server-side cursors, no prepared statements, no session options (core.dburl.pooled).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_URL:
    DATABASES = {
        "default": parse_database_url(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 600), pooler=DATABASE_POOLER
        )
    }
    # An optional read alias on the standby (target_session_attrs=prefer-standby). The router
    # sends ORM reads there only inside core.routing.reads_from_replica(); tests mirror it.
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
    if DATABASE_REPLICA_URL:
        DATABASES["replica"] = parse_database_url(
            DATABASE_REPLICA_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
            test_options={"MIRROR": "default"},
            pooler=DATABASE_POOLER,
        )
        DATABASE_ROUTERS = ["core.routing.ReplicaRouter"]
else:
    if DATABASE_POOLER:
        raise DatabaseURLError("DATABASE_POOLER is set but DATABASE_URL is not: a pooler fronts PostgreSQL")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "ledger.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# Read-your-writes on the standby (core.replica): how long a query carrying a Ledger-Read-After
# token may wait for the standby to replay it, and the replay lag above which queries without
# one go to the primary.
LEDGER_REPLICA_WAIT_MS = env_int("LEDGER_REPLICA_WAIT_MS", 50)
LEDGER_REPLICA_MAX_LAG_MS = env_int("LEDGER_REPLICA_MAX_LAG_MS", 1000)

# The app connects as a role that owns nothing (docs/OPERATIONS.md, Database roles). Set these
# for `migrate` only, which runs as the tables' owner: it then creates or updates this login
# role with the DML the app needs and no more (core/dbroles.py).
LEDGER_DB_APP_ROLE = os.environ.get("LEDGER_DB_APP_ROLE", "")
LEDGER_DB_APP_PASSWORD = os.environ.get("LEDGER_DB_APP_PASSWORD", "")
# HMAC keys of signed checkpoints (transactions/checkpoint.py): "id:secret[,id:secret...]", the
# first signs, all verify. Held by the operator's checkpoint job, never by the database.
LEDGER_CHECKPOINT_KEY = os.environ.get("LEDGER_CHECKPOINT_KEY", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The admin's one date format, "2026-11-25 14:30:05 UTC" (core/formats/en/formats.py).
FORMAT_MODULE_PATH = ["core.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "ledger_project.staticfiles.LedgerStaticFilesStorage"
        )
    },
}
# Serve straight from the app directories when collectstatic has not run (tests, make run);
# ledger_project/staticfiles.py then links the unhashed names.
WHITENOISE_USE_FINDERS = True

# --- CORS: an allow-list, never a wildcard by default ---------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_HEADERS = ("authorization", "content-type", "accept", "x-request-id")

# --- Security (check --deploy clean when DEBUG is off) ---------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks and metrics come over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- The ledger -----------------------------------------------------------------
LEDGER_TED_DELAY = env_int("LEDGER_TED_DELAY", 0)  # seconds before a TED is due
LEDGER_DOC_DELAY = env_int("LEDGER_DOC_DELAY", 0)  # seconds before a DOC is due
LEDGER_HOLD_TTL = env_int("LEDGER_HOLD_TTL", 7 * 24 * 3600)  # seconds a MANUAL hold lasts unless told otherwise
LEDGER_GRAPHIQL = env_bool("LEDGER_GRAPHIQL", False)
# Where `make run` keeps its development key for GraphiQL to prefill (read only in DEBUG: access/devkey.py).
LEDGER_DEV_KEY_FILE = os.environ.get("LEDGER_DEV_KEY_FILE", str(BASE_DIR / ".dev-api-key"))
# Trusted documents (trusted.gate): `open` runs any text; `trusted` (production) runs only stored documents.
LEDGER_DOCUMENTS = os.environ.get("LEDGER_DOCUMENTS", "open").strip().lower() or "open"
if LEDGER_DOCUMENTS not in ("open", "trusted"):
    raise ValueError(f"LEDGER_DOCUMENTS must be open or trusted, not {LEDGER_DOCUMENTS!r}")
# How long a process trusts what it read of a stored document (revoked or not) before reading it again.
LEDGER_DOCUMENTS_RECHECK_SECONDS = env_int("LEDGER_DOCUMENTS_RECHECK_SECONDS", 5)
# client=path pairs that migrate imports (trusted.deploy): the documents a deployment's apps were built with.
LEDGER_DOCUMENTS_IMPORT = env_list("LEDGER_DOCUMENTS_IMPORT")
LEDGER_RETRY_BUDGET_MS = env_int("LEDGER_RETRY_BUDGET_MS", 2000)  # serialization/deadlock retries, time budget
LEDGER_SETTLE_INTERVAL = env_int("LEDGER_SETTLE_INTERVAL", 1)  # seconds between --loop passes
LEDGER_SETTLE_BATCH = env_int("LEDGER_SETTLE_BATCH", 500)  # rows claimed per settlement step
LEDGER_MAX_BODY_BYTES = 1024 * 1024
LEDGER_MAX_DEPTH = 12
LEDGER_MAX_NODES = 10_000
# The cost model's other limits (docs/HTTP.md, Cost limits) and the backstops that hold whatever it says.
LEDGER_MAX_STATEMENTS = 500
LEDGER_MAX_FIELDS = 200_000
LEDGER_MAX_INTROSPECTION = 10_000
LEDGER_MAX_RESPONSE_BYTES = env_int("LEDGER_MAX_RESPONSE_BYTES", 8 * 1024 * 1024)
LEDGER_STATEMENT_TIMEOUT_MS = env_int("LEDGER_STATEMENT_TIMEOUT_MS", 5_000)  # 0: no timeout
LEDGER_REQUEST_BUDGET_MS = env_int("LEDGER_REQUEST_BUDGET_MS", 10_000)  # 0: no budget
# How long a web process may trust a cached API key (access.keycache: emptied by NOTIFY on every key
# or user change, so a revocation does not wait for it); 0 turns the cache off.
LEDGER_KEY_CACHE_SECONDS = env_int("LEDGER_KEY_CACHE_SECONDS", 10)
LEDGER_METRICS_ENABLED = env_bool("LEDGER_METRICS_ENABLED", True)
# Remote addresses allowed to scrape /metrics (the loopback by default). Behind a proxy the
# address is the proxy's, so there set LEDGER_METRICS_TOKEN instead (docs/OPERATIONS.md, Metrics).
LEDGER_METRICS_ALLOWED_IPS = env_list("LEDGER_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
# When set, /metrics answers only `Authorization: Bearer <this token>` (the allow-list is not consulted).
LEDGER_METRICS_TOKEN = os.environ.get("LEDGER_METRICS_TOKEN", "")

# --- Admin sign-in throttling (django-axes) ---------------------------------------
# Failed sign-ins are counted per username and client address, in the database (so every
# worker and instance shares the count); at the limit that pair is locked out for the
# cool-off, the right password included, and sees ledger_project/lockout.py's page.
# API keys never go through authenticate(), so they are neither counted nor locked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LEDGER_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LEDGER_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets the earlier failures
AXES_LOCKOUT_CALLABLE = "ledger_project.lockout.lockout_response"
# The client's address is REMOTE_ADDR, never a header a client can write: behind nginx,
# ledger_project/proxied.py has already set it from nginx's own X-Real-IP.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

GRAPHENE = {
    "SCHEMA": "ledger_project.schema.schema",
}

# --- Logging: JSON lines in production, plain in development ----------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "plain": {"()": "core.logging.PlainFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
