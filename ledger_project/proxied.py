"""The WSGI application as gunicorn serves it behind the launcher's nginx (ledger_project/serve.py).

Behind the proxy every request reaches gunicorn over a Unix socket, where there is
no peer address: ``REMOTE_ADDR`` is empty. nginx sets ``X-Real-IP`` to the address
it saw, replacing whatever the client sent, and only nginx can reach the socket (it
lives in a directory only the service's user may enter). So for a request that came
over the socket, and only then, ``X-Real-IP`` is the client's address: the access
log, the ``/metrics`` allow-list and the admin's login throttling see the client,
not the proxy. A request with a peer address (gunicorn on TCP, ``runserver``) keeps
it, and its ``X-Real-IP`` is ignored, since any client could have written it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ledger_project.wsgi import application as django_application

StartResponse = Callable[..., Any]


def client_address(environ: dict[str, Any]) -> str:
    """The address to believe: the peer's, or nginx's ``X-Real-IP`` when there is no peer (the socket)."""
    peer = environ.get("REMOTE_ADDR") or ""
    if peer:
        return str(peer)
    return str(environ.get("HTTP_X_REAL_IP") or "").strip()


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    # In place: gunicorn's access log reads the same environ after the response.
    environ["REMOTE_ADDR"] = client_address(environ)
    return django_application(environ, start_response)
