"""Reads about message delivery (inside the client's schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from answering.models import Delivery, DeliveryEvent, Message


def delivery_get(delivery_id: int) -> Delivery | None:
    return Delivery.objects.select_related("message", "person").filter(pk=delivery_id).first()


def delivery_for_provider(*, sid: str, channel: str, to: str) -> Delivery | None:
    """The attempt Twilio reports on. A callback can beat the worker that sent it to saving the
    SID; then it is the attempt to that number still being sent."""
    found = Delivery.objects.select_related("message").filter(provider_sid=sid).first() if sid else None
    if found is None and to:
        found = (Delivery.objects.select_related("message")
                 .filter(channel=channel, address=to, status=Delivery.Status.SENDING, provider_sid="")
                 .order_by("-pk").first())
    return found


def message_timeline(message: Message) -> QuerySet[DeliveryEvent]:
    """Everything that happened to a message after it was taken, oldest first."""
    return message.events.select_related("delivery", "delivery__person").order_by("at", "pk")
