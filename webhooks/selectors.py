"""Event webhooks: the reads (inside the client's schema)."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, oldest first, with how many deliveries are pending and failed and when it
    last succeeded."""
    S = WebhookDelivery.Status
    return WebhookEndpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status__in=[S.QUEUED, S.SENDING])),
        failed=Count("deliveries", filter=Q(deliveries__status=S.FAILED)),
        last_success=Max("deliveries__sent_at"),
    ).order_by("created", "pk")


def endpoint_get(pk: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(pk=pk).first()


def endpoint_deliveries(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """Its delivery log, newest first."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("message").order_by("-created", "-pk")


def delivery_get(pk: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(pk=pk).select_related("endpoint", "message").first()


def endpoints_disabled_by_us() -> list[WebhookEndpoint]:
    """Endpoints we disabled (410, or failing for days): what the portal warns about."""
    return list(WebhookEndpoint.objects.filter(active=False).exclude(disabled_reason="")
                .exclude(disabled_reason__startswith="Disabled by "))
