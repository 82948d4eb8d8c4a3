"""WebSocket URLs. Each app adds its consumers here as they arrive."""

from django.urls import path

from answering.consumers import PortalConsumer

websocket_urlpatterns = [
    path("ws/portal/", PortalConsumer.as_asgi()),
]
