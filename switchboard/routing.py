"""WebSocket URLs. Each app adds its consumers here as they arrive."""

from django.urls import path, re_path

from answering.consumers import AgentConsumer, WallboardConsumer
from portal.consumers import PortalConsumer
from tenants.websocket import no_such_socket

websocket_urlpatterns = [
    path("ws/portal/", PortalConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
    re_path(r"", no_such_socket),  # last: any other path is refused, not a 500
]
