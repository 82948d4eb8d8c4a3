"""Messages: list (filters, search, ETag), one, acknowledge."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from answering.messages.acknowledge import message_acknowledge
from answering.models import Message
from api import etag
from api.models import Scope
from api.views.base import ApiListView, ApiView, iso
from api.views.schema import POLLED_PAGE_PARAMETERS, PROBLEMS, problems
from portal.selectors import message_search


class MessageOut(serializers.ModelSerializer):
    acknowledged = serializers.SerializerMethodField()
    filed = serializers.SerializerMethodField()
    call = serializers.IntegerField(source="call_id", allow_null=True, help_text="The call it was taken on.")
    fields = serializers.JSONField(help_text="The captured answers, by field name.")

    class Meta:
        model = Message
        fields = ["id", "caller", "callback_number", "caller_name", "urgency", "category", "fields", "language",
                  "source", "call", "short_code", "created", "updated", "acknowledged", "acknowledged_at",
                  "acknowledged_by", "acknowledged_via", "filed"]

    def get_acknowledged(self, message: Message) -> bool:
        return message.acknowledged_at is not None

    def get_filed(self, message: Message) -> bool:
        return message.filed_at is not None

    def to_representation(self, m) -> dict:
        # The same fields, written out: DRF's field-by-field walk took most of a list's time (the
        # figure in docs/api.md). A list passes rows as dicts (``.values()``), one message a model.
        get = m.__getitem__ if isinstance(m, dict) else m.__getattribute__
        pk = get("pk")
        return {"id": pk, "caller": get("caller"), "callback_number": get("callback_number"),
                "caller_name": get("caller_name"), "urgency": get("urgency"), "category": get("category"),
                "fields": get("fields"), "language": get("language"), "source": get("source"),
                "call": get("call_id"), "short_code": get("short_code"), "created": iso(get("created")),
                "updated": iso(get("updated")), "acknowledged": get("acknowledged_at") is not None,
                "acknowledged_at": iso(get("acknowledged_at")), "acknowledged_by": get("acknowledged_by"),
                "acknowledged_via": get("acknowledged_via"), "filed": get("filed_at") is not None}


def _iso_in(value, tz):
    # iso() with the zone looked up once per page rather than once per value (150 a page).
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def message_rows_out(rows: list[dict]) -> list[dict]:
    """A page of ``.values(*LIST_COLUMNS)`` rows as ``MessageOut`` writes each (a test holds them equal)."""
    tz = timezone.get_current_timezone()
    return [{"id": m["pk"], "caller": m["caller"], "callback_number": m["callback_number"],
             "caller_name": m["caller_name"], "urgency": m["urgency"], "category": m["category"],
             "fields": m["fields"], "language": m["language"], "source": m["source"], "call": m["call_id"],
             "short_code": m["short_code"], "created": _iso_in(m["created"], tz),
             "updated": _iso_in(m["updated"], tz), "acknowledged": m["acknowledged_at"] is not None,
             "acknowledged_at": _iso_in(m["acknowledged_at"], tz), "acknowledged_by": m["acknowledged_by"],
             "acknowledged_via": m["acknowledged_via"], "filed": m["filed_at"] is not None} for m in rows]


LIST_COLUMNS = ("pk", "caller", "callback_number", "caller_name", "urgency", "category", "fields", "language",
                "source", "call_id", "short_code", "created", "updated", "acknowledged_at", "acknowledged_by",
                "acknowledged_via", "filed_at")


class MessageFilters(serializers.Serializer):
    urgency = serializers.ChoiceField(choices=Message.Urgency.choices, required=False)
    category = serializers.CharField(required=False, max_length=60, help_text="Exact category, any case.")
    acknowledged = serializers.BooleanField(required=False, allow_null=True, default=None)
    since = serializers.DateField(required=False, help_text="From this day (the client's time zone), inclusive.")
    until = serializers.DateField(required=False, help_text="To this day (the client's time zone), inclusive.")
    q = serializers.CharField(required=False, max_length=200,
                              help_text="Search the caller, callback number, name, category and answers.")
    box = serializers.ChoiceField(choices=["inbox", "filed", "all"], default="all", required=False)

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": "The range ends before it starts."})
        for name in ("category", "q"):
            if "\x00" in data.get(name, ""):
                raise serializers.ValidationError({name: "Holds a NUL character."})
        return data


MESSAGE_EXAMPLE = {
    "id": 42, "caller": "+12125550147", "callback_number": "+12125550147", "caller_name": "Pat Lee",
    "urgency": "urgent", "category": "emergency", "fields": {"problem": "No heat", "address": "12 Elm St"},
    "language": "en", "source": "call", "call": 17, "short_code": "4821", "created": "2026-01-05T03:12:09Z",
    "updated": "2026-01-05T03:15:40Z", "acknowledged": True, "acknowledged_at": "2026-01-05T03:15:40Z",
    "acknowledged_by": "Dana Tech", "acknowledged_via": "sms", "filed": False}


class MessageList(ApiListView):
    required_scopes = (Scope.MESSAGES_READ,)
    serializer_class = MessageOut

    @extend_schema(
        operation_id="messages_list", tags=["messages"], summary="List messages, newest first",
        parameters=[MessageFilters, *POLLED_PAGE_PARAMETERS],
        responses={200: MessageOut(many=True), 304: None, **problems(400, 401, 403, 429)},
        examples=[OpenApiExample("A page", value=MESSAGE_EXAMPLE,
                                 response_only=True)])
    def get(self, request):
        filters = MessageFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        acknowledged = data.pop("acknowledged", None)
        data["state"] = "" if acknowledged is None else ("acknowledged" if acknowledged else "open")
        found = message_search(time_zone=request.tenant.time_zone, **data)
        tag = etag.list_etag(found, request=request)
        if etag.matches(request, tag):
            return etag.not_modified(tag)  # no page query at all
        page = self.paginate_queryset(found.values(*LIST_COLUMNS))  # dicts: no model instances to build
        response = self.get_paginated_response(message_rows_out(page))
        response["ETag"] = tag
        return response


class MessageDetail(ApiView):
    required_scopes = (Scope.MESSAGES_READ,)

    @extend_schema(operation_id="messages_retrieve", tags=["messages"], summary="One message",
                   responses={200: MessageOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A message", value=MESSAGE_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        return Response(MessageOut(get_object_or_404(Message, pk=pk)).data)


class AcknowledgeOut(serializers.Serializer):
    acknowledged_now = serializers.BooleanField(help_text="True for the first acknowledgement only.")
    message = MessageOut()


class MessageAcknowledge(ApiView):
    required_scopes = (Scope.MESSAGES_READ, Scope.MESSAGES_WRITE)

    @extend_schema(
        operation_id="messages_acknowledge", tags=["messages"], summary="Acknowledge a message",
        description="Stops its escalation: pending texts and call-outs are cancelled. Exactly once: a second "
                    "acknowledgement changes nothing and answers `acknowledged_now: false`.",
        request=None, parameters=[PROBLEMS["idempotency"]],
        responses={200: AcknowledgeOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Acknowledged", value={"acknowledged_now": True, "message": MESSAGE_EXAMPLE},
                                 response_only=True)])
    def post(self, request, pk: int):
        message = get_object_or_404(Message, pk=pk)
        changed = message_acknowledge(message=message, by=request.user.label, via="api", client=request.tenant)
        message.refresh_from_db()
        return Response({"acknowledged_now": changed, "message": MessageOut(message).data})
