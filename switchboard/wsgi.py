"""WSGI entry point: how production serves HTTP (Twilio's webhooks, pages, the API).

`gunicorn switchboard.wsgi` with sync workers: each request runs start to end on the
worker's one thread, on a connection kept open between requests (CONN_MAX_AGE). Under
ASGI the same request crosses between the event loop and a fresh thread several times and
borrows a pooled connection; on the benchmark box that halved webhook throughput
(docs/figures.md). WebSockets need ASGI: `switchboard/asgi.py`, under uvicorn, behind the same
proxy (`/ws/` there, everything else here). Pushes from these processes go straight to
Redis (`answering.live`), so the consoles hear them wherever they are connected.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "300")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()


def _urlconfs_loaded() -> None:
    """Import every URLconf (and so every view module) now, while the worker starts, not
    during its first request: that first caller — a Twilio webhook — would otherwise wait for
    the imports, and with the database gone, for them and the connect timeout together."""
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in (settings.PUBLIC_SCHEMA_URLCONF, settings.ROOT_URLCONF, "switchboard.urls_client_data"):
        get_resolver(urlconf).url_patterns  # noqa: B018 (the import is the point)


_urlconfs_loaded()
