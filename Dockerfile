# The ledger's production image: nginx in front of granian (python -m ledger_project.serve,
# what `make serve` runs), as a non-root user.
#   docker build -t ledger .
#   docker run --env-file .env -p 8000:8000 ledger
# docker-compose.yml runs it with PostgreSQL, a one-shot migrate and the settlement worker.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve the pinned requirements into a virtualenv ----------------------
# Every pin ships a wheel (psycopg's binary build included) or, like promise, is pure
# Python, so no compiler is needed even here; the stage exists so that pip, build
# dependencies and caches never reach the image that runs.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install --prefer-binary -r /tmp/requirements.txt

# --- runtime: the virtualenv, the code, the collected static files ------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=ledger_project.settings \
    DEBUG=false \
    HOST=0.0.0.0 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
# nginx is the HTTP server clients reach: it buffers whole requests before granian spends
# a thread on them (docs/OPERATIONS.md, Slow clients and timeouts). Debian's build; it runs
# unprivileged, with its config, socket and scratch files in a private directory under /tmp.
# (nginx-light is bookworm's smallest flavour; on trixie and later install `nginx`.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 ledger \
    && useradd --system --uid 10001 --gid ledger --home-dir /app --no-create-home --shell /usr/sbin/nologin ledger
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code belongs to root and is read-only for the app user: a compromised process
# cannot rewrite what it runs.
COPY . /app
# collectstatic reads settings, which insist on a SECRET_KEY when DEBUG is off; this
# one exists only for this build step and is not kept in the image.
RUN SECRET_KEY=collectstatic-build-step-only python manage.py collectstatic --no-input --verbosity 0 \
    && python -m compileall -q /app
USER ledger:ledger
EXPOSE 8000
# serve.py reads HOST, PORT, NGINX_*, LEDGER_APP_SERVER and GRANIAN_*; gunicorn.conf.py GUNICORN_* (LEDGER_APP_SERVER=gunicorn).
CMD ["python", "-m", "ledger_project.serve"]
