"""The portal's live feed (`/ws/portal/`), on the client's own host, for that client's people.

It joins the client's portal group (``answering.live.client_portal_group``), which hears
``{"type": "message", ...}`` when a message is committed and ``{"type": "message_changed", ...}``
when its deliveries or acknowledgement change; the page then fetches the part it shows.
Agents, platform staff and other clients' people are refused by ``ClientConsumer`` (a
session is only good on its own host) and by ``allows``.
"""

from __future__ import annotations

from answering.consumers import PortalConsumer as AnsweringPortalConsumer
from portal.selectors import unacknowledged_count


class PortalConsumer(AnsweringPortalConsumer):
    def allows(self, user) -> bool:
        return self.client is not None and user.is_client_user and user.client_id == self.client.pk

    def snapshot(self) -> dict:
        # Sent on every (re)connect: a page that missed pushes while offline refreshes itself.
        return {**super().snapshot(), "unacknowledged": unacknowledged_count()}
