"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
# Each HTTP request runs on a new thread here: a pool per process reuses connections.
os.environ.setdefault("DB_POOL_SIZE", "8")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from switchboard.routing import websocket_urlpatterns  # noqa: E402
from tenants.websocket import ClientHostMiddleware  # noqa: E402

http_app = django_asgi_app
if settings.DEBUG:
    # Development serves static files itself; production puts them behind the proxy.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # development only

    http_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            ClientHostMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
