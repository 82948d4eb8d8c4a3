"""WebSocket URLs. Each app adds its consumers here as they arrive."""

from django.urls import path

from answering.consumers import AgentConsumer, WallboardConsumer
from portal.consumers import PortalConsumer

websocket_urlpatterns = [
    path("ws/portal/", PortalConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
