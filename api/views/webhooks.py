"""Webhook endpoints and their deliveries: list, add (the secret shown once), read, change,
delete, rotate the secret, enable, disable; each endpoint's delivery log, one delivery, send again.

The same verbs and reads as the portal's Webhooks page (``webhooks.services``, ``webhooks.selectors``).
A secret appears in exactly two answers — the one that creates the endpoint and the one that rotates
it — never in a list or a read."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.errors import PROBLEM_JSON, Problem
from api.models import Scope
from api.views.base import ApiListView, ApiView, iso
from api.views.schema import PROBLEMS, problems
from api.views.schema import Problem as ProblemSchema
from webhooks import selectors, services
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

TAGS = ["webhooks"]


def _endpoint(pk: int) -> WebhookEndpoint:
    """The endpoint with its counts (pending, failed, last success), in this host's schema only."""
    found = selectors.endpoint_list().filter(pk=pk).first()
    if found is None:
        raise Http404("No such webhook endpoint here.")
    return found


def _delivery(pk: int) -> WebhookDelivery:
    found = selectors.delivery_get(pk)
    if found is None:
        raise Http404("No such webhook delivery here.")
    return found


class EndpointOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices),
                                        help_text="The events it gets; empty: every event, including later ones.")
    rules_only = serializers.BooleanField(help_text="Made for a delivery rule's webhook step: gets only what "
                                                    "the rules send it.")
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it is disabled (by whom, a 410, days of failure).")
    disabled_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True, help_text="First failure since the last success.")
    rotating_until = serializers.DateTimeField(allow_null=True,
                                               help_text="Until then the previous secret signs too, beside the new one.")
    pending = serializers.IntegerField(help_text="Deliveries queued or being sent.")
    failed = serializers.IntegerField(help_text="Deliveries given up on.")
    last_success = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField()

    def to_representation(self, e: WebhookEndpoint) -> dict:
        rotating = e.previous_secret_until if e.previous_secret_until and e.previous_secret_until > timezone.now() \
            else None
        return {"id": e.pk, "url": e.url, "description": e.description, "event_types": list(e.event_types or []),
                "rules_only": e.rules_only, "active": e.active, "disabled_reason": e.disabled_reason,
                "disabled_at": iso(e.disabled_at), "failing_since": iso(e.failing_since),
                "rotating_until": iso(rotating), "pending": getattr(e, "pending", 0), "failed": getattr(e, "failed", 0),
                "last_success": iso(getattr(e, "last_success", None)), "created": iso(e.created)}


class EndpointWithSecretOut(EndpointOut):
    secret = serializers.CharField(help_text="The signing secret (whsec_…): shown in this answer only. Keep it.")

    def __init__(self, instance=None, *, secret: str = "", **kwargs):
        super().__init__(instance, **kwargs)
        self._secret = secret

    def to_representation(self, e: WebhookEndpoint) -> dict:
        return {**super().to_representation(e), "secret": self._secret}


class EndpointIn(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="Your system's address for our events: https://…")
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False,
                                        default=list, max_length=len(EventType.values),
                                        help_text="Empty or left out: every event, including ones added later.")


class EndpointChangeIn(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False,
                                        max_length=len(EventType.values), help_text="Empty: every event.")


ENDPOINT_EXAMPLE = {"id": 4, "url": "https://dispatch.example.com/hooks/switchboard", "description": "Dispatch board",
                    "event_types": ["message.created", "message.acknowledged"], "rules_only": False, "active": True,
                    "disabled_reason": "", "disabled_at": None, "failing_since": None, "rotating_until": None,
                    "pending": 0, "failed": 0, "last_success": "2026-01-05T03:12:10Z",
                    "created": "2026-01-02T15:00:00Z"}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_NO_STORE = {"Cache-Control": "no-store"}  # an answer holding a secret is not kept by any cache


class _WritesNeedWrite:
    """One path, reads and writes (GET and POST, GET and PATCH / DELETE): reading needs
    webhooks:read, anything else webhooks:write too."""

    def get_permissions(self):
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            self.required_scopes = (Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE)
        return super().get_permissions()


class EndpointList(_WritesNeedWrite, ApiListView):
    required_scopes = (Scope.WEBHOOKS_READ,)
    serializer_class = EndpointOut

    @extend_schema(operation_id="webhook_endpoints_list", tags=TAGS, summary="Webhook endpoints, newest first",
                   parameters=[OpenApiParameter("limit", int, description="Page size, 1–200."),
                               OpenApiParameter("cursor", str)],
                   responses={200: EndpointOut(many=True), **problems(400, 401, 403, 429)})
    def get(self, request):
        page = self.paginate_queryset(selectors.endpoint_list())
        return self.get_paginated_response(EndpointOut(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create", tags=TAGS, summary="Add a webhook endpoint",
        description="Its signing secret (`whsec_…`) is in this answer only. The URL must resolve to public "
                    "addresses: a private, loopback or link-local one is refused (400, field `url`).",
        request=EndpointIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: EndpointWithSecretOut, **problems(400, 401, 403, 409, 422, 429)},
        examples=[OpenApiExample("Dispatch board", request_only=True, value={
                      "url": "https://dispatch.example.com/hooks/switchboard", "description": "Dispatch board",
                      "event_types": ["message.created", "message.acknowledged"]}),
                  OpenApiExample("Added", response_only=True, status_codes=["201"],
                                 value={**ENDPOINT_EXAMPLE, "last_success": None, "secret": SECRET_EXAMPLE})])
    def post(self, request):
        data = EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        made = services.endpoint_create(url=d["url"], description=d["description"], event_types=d["event_types"])
        return Response(EndpointWithSecretOut(_endpoint(made.pk), secret=made.secret).data, status=201,
                        headers=_NO_STORE)


class EndpointDetail(_WritesNeedWrite, ApiView):
    required_scopes = (Scope.WEBHOOKS_READ,)

    @extend_schema(operation_id="webhook_endpoints_retrieve", tags=TAGS, summary="One webhook endpoint",
                   responses={200: EndpointOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        return Response(EndpointOut(_endpoint(pk)).data)

    @extend_schema(
        operation_id="webhook_endpoints_update", tags=TAGS, summary="Change an endpoint's URL, description or events",
        description="Only the fields given change; the same checks as adding one. The secret stays.",
        request=EndpointChangeIn, responses={200: EndpointOut, **problems(400, 401, 403, 404, 429)},
        examples=[OpenApiExample("Every event", request_only=True, value={"event_types": []})])
    def patch(self, request, pk: int):
        endpoint = _endpoint(pk)
        data = EndpointChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(EndpointOut(_endpoint(pk)).data)

    @extend_schema(operation_id="webhook_endpoints_delete", tags=TAGS, summary="Delete an endpoint and its log",
                   description="Nothing more is sent to it; its queued deliveries go with it.",
                   responses={204: None, **problems(401, 403, 404, 429)})
    def delete(self, request, pk: int):
        services.endpoint_delete(endpoint=_endpoint(pk), client=request.tenant)
        return Response(status=204)


class EndpointRotateSecret(ApiView):
    required_scopes = (Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE)

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret", tags=TAGS, summary="A new signing secret",
        description="The new secret is in this answer only. Until `rotating_until` (24 hours) the old secret "
                    "signs every request too (two signatures in `webhook-signature`), so the receiver can switch "
                    "at its pace.",
        request=None, parameters=[PROBLEMS["idempotency"]],
        responses={200: EndpointWithSecretOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Rotated", response_only=True, value={
            **ENDPOINT_EXAMPLE, "rotating_until": "2026-01-06T15:00:00Z", "secret": SECRET_EXAMPLE})])
    def post(self, request, pk: int):
        endpoint = _endpoint(pk)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        return Response(EndpointWithSecretOut(_endpoint(pk), secret=secret).data, headers=_NO_STORE)


class EndpointDisable(ApiView):
    required_scopes = (Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE)

    @extend_schema(operation_id="webhook_endpoints_disable", tags=TAGS, summary="Stop sending to an endpoint",
                   description="Its queued deliveries are cancelled (each can be sent again once it is enabled). "
                               "Disabling a disabled endpoint changes nothing.",
                   request=None, parameters=[PROBLEMS["idempotency"]],
                   responses={200: EndpointOut, **problems(400, 401, 403, 404, 409, 422, 429)})
    def post(self, request, pk: int):
        endpoint = _endpoint(pk)
        services.endpoint_disable(endpoint=endpoint, reason=f"Disabled by {request.user.label}.", client=request.tenant)
        return Response(EndpointOut(_endpoint(pk)).data)


class EndpointEnable(ApiView):
    required_scopes = (Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE)

    @extend_schema(operation_id="webhook_endpoints_enable", tags=TAGS, summary="Send to an endpoint again",
                   description="New events go to it again and its failure clock restarts; deliveries cancelled "
                               "meanwhile go only when sent again.",
                   request=None, parameters=[PROBLEMS["idempotency"]],
                   responses={200: EndpointOut, **problems(400, 401, 403, 404, 409, 422, 429)})
    def post(self, request, pk: int):
        services.endpoint_enable(endpoint=_endpoint(pk))
        return Response(EndpointOut(_endpoint(pk)).data)


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.IntegerField(help_text="The endpoint's id.")
    event_id = serializers.CharField(help_text="The webhook-id header: the same on every try and to every endpoint.")
    type = serializers.ChoiceField(choices=EventType.choices)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    tries = serializers.IntegerField(help_text="How many tries so far.")
    created = serializers.DateTimeField()
    next_at = serializers.DateTimeField(allow_null=True, help_text="When the next try is due; null once final.")
    sent_at = serializers.DateTimeField(allow_null=True, help_text="When it succeeded.")
    last_status_code = serializers.IntegerField(allow_null=True, help_text="The last try's HTTP status; null: no "
                                                                           "answer.")
    last_error = serializers.CharField(help_text="What went wrong on the last try (empty: nothing).")
    last_response = serializers.CharField(help_text="The start of the last answer's body.")

    def to_representation(self, d: WebhookDelivery) -> dict:
        final = d.status in WebhookDelivery.FINAL
        return {"id": d.pk, "endpoint": d.endpoint_id, "event_id": d.message.event_id, "type": d.message.type,
                "status": d.status, "tries": d.tries, "created": iso(d.created),
                "next_at": None if final else iso(d.next_at), "sent_at": iso(d.sent_at),
                "last_status_code": d.last_status_code, "last_error": d.last_error, "last_response": d.last_response}


class DeliveryDetailOut(DeliveryOut):
    event_created = serializers.DateTimeField(help_text="When the event happened (the body's timestamp).")
    data = serializers.JSONField(help_text="The event's data, as sent in the body.")

    def to_representation(self, d: WebhookDelivery) -> dict:
        return {**super().to_representation(d), "event_created": iso(d.message.created), "data": d.message.payload}


class DeliveryFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)


DELIVERY_EXAMPLE = {"id": 90, "endpoint": 4, "event_id": "msg_5f0c2b7e9d7c4a55a1d3b1e0c9f8a7b6",
                    "type": "message.created", "status": "queued", "tries": 2, "created": "2026-01-05T03:12:09Z",
                    "next_at": "2026-01-05T03:17:15Z", "sent_at": None, "last_status_code": 503,
                    "last_error": "Answered 503", "last_response": "Service Unavailable"}


class EndpointDeliveries(ApiListView):
    required_scopes = (Scope.WEBHOOKS_READ,)
    serializer_class = DeliveryOut

    @extend_schema(operation_id="webhook_endpoints_deliveries", tags=TAGS, summary="An endpoint's delivery log, "
                   "newest first", parameters=[DeliveryFilters, OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
                   responses={200: DeliveryOut(many=True), **problems(400, 401, 403, 404, 429)},
                   examples=[OpenApiExample("A page", value=DELIVERY_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        filters = DeliveryFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = selectors.endpoint_deliveries(_endpoint(pk))
        if status := filters.validated_data.get("status"):
            found = found.filter(status=status)
        return self.get_paginated_response(DeliveryOut(self.paginate_queryset(found), many=True).data)


class DeliveryDetail(ApiView):
    required_scopes = (Scope.WEBHOOKS_READ,)

    @extend_schema(operation_id="webhook_deliveries_retrieve", tags=TAGS, summary="One delivery, with its event",
                   responses={200: DeliveryDetailOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A delivery", response_only=True, value={
                       **DELIVERY_EXAMPLE, "event_created": "2026-01-05T03:12:09Z",
                       "data": {"id": 42, "urgency": "urgent", "category": "emergency"}})])
    def get(self, request, pk: int):
        return Response(DeliveryDetailOut(_delivery(pk)).data)


class DeliveryResend(ApiView):
    required_scopes = (Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE)

    @extend_schema(
        operation_id="webhook_deliveries_resend", tags=TAGS, summary="Send a delivery again, now",
        description="A new try at once, with the same `webhook-id` (receivers drop repeats by it). Refused (409) "
                    "while a try is in flight or when the endpoint is disabled.",
        request=None, parameters=[PROBLEMS["idempotency"]],
        responses={202: DeliveryOut, **problems(400, 401, 403, 404, 409, 422, 429),
                   (409, PROBLEM_JSON): OpenApiResponse(ProblemSchema, description="A try is under way, the endpoint "
                                                        "is disabled, or a request with this Idempotency-Key is "
                                                        "still running")})
    def post(self, request, pk: int):
        try:
            delivery = services.delivery_resend(delivery=_delivery(pk), client=request.tenant)
        except services.WebhookRefused as refused:
            raise Problem(409, "resend-refused", "Not sent again", str(refused)) from refused
        return Response(DeliveryOut(delivery).data, status=202)
