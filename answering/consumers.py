"""WebSocket consumers of answering: thin — authenticate, read in the client's schema, relay."""

from __future__ import annotations

from answering import selectors
from tenants.websocket import ClientConsumer, client_group


class PortalConsumer(ClientConsumer):
    """The client portal's live feed, on the client's own host, for that client's users."""

    def allows(self, user) -> bool:
        return self.client is not None

    def groups_for(self, user) -> list[str]:
        return [client_group(self.client, "portal")]

    def snapshot(self) -> dict:
        settings = selectors.answering_settings_get()
        return {
            "client": {"name": self.client.name, "slug": self.client.slug, "time_zone": self.client.time_zone},
            "greeting": settings.greeting if settings else "",
            "knowledge": [{"title": f.title, "body": f.body} for f in selectors.knowledge_fact_list()],
        }
