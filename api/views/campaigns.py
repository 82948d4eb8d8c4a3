"""Campaigns: list, one, create (with the usual dispositions), start and pause (the lifecycle
services, as the portal's buttons), and results (the portal's figures and every contact's outcome).

Starting through the API is metered by the hourly spending cap (``api/spend.py``), see
``_start_spend``: what a start may cause at once is taken from the cap; what a running
campaign dials afterwards is bounded by the compliance gate and the dialer's pacing."""

from __future__ import annotations

from dataclasses import asdict

import redis
from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from answering.models import Script
from api.errors import Problem
from api.models import Scope
from api.spend import spend_take, spend_used
from api.views.base import ApiListView, ApiView
from api.views.schema import PROBLEMS, problems
from campaigns import selectors
from campaigns.models import CallAttempt, Campaign, Contact, Disposition
from campaigns.services import lifecycle
from compliance.rules import Purpose
from portal.selectors import agent_names
from tenants.models import Client

PAGE = [OpenApiParameter("limit", int, description="Page size, 1–200 (default 50)."),
        OpenApiParameter("cursor", str, description="From the previous page's next or previous link.")]


def _invalid(field: str, message: str) -> Problem:
    return Problem(400, "invalid", "The request's input is not valid", f"{field}: {message}",
                   errors=[{"field": field, "message": message}])


def _refused(exc: lifecycle.CampaignRefused) -> Problem:
    return Problem(422, "campaign-refused", "The campaign cannot do that", str(exc))


@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
                      "example": "09:00:00"})
class LocalTimeField(serializers.TimeField):
    """A time of day in the callee's own zone, no offset ("09:00:00"): OpenAPI's ``time`` format
    (RFC 3339) requires one, which a wall-clock time in every callee's zone does not have."""


class DispositionOut(serializers.ModelSerializer):
    class Meta:
        model = Disposition
        fields = ["code", "label", "kind", "final", "success"]


# What a client may set on a campaign (the admin's fields, less who works it and the compliance policy).
SETTABLE = ["name", "purpose", "subject", "channel", "script", "sms_text", "caller_id", "local_presence",
            "window_start", "window_end", "days", "mode", "max_lines_per_agent", "max_attempts",
            "retry_busy_minutes", "retry_no_answer_minutes", "retry_machine_minutes", "retry_failed_minutes",
            "retry_abandoned_minutes", "ring_seconds", "amd", "voicemail_drop", "voicemail_text",
            "voicemail_audio_url", "safe_harbour_text", "starts_at", "ends_at", "max_attempts_per_24h",
            "max_attempts_per_7d"]


class CampaignOut(serializers.ModelSerializer):
    script = serializers.IntegerField(source="script_id", allow_null=True, help_text="The script's id.")
    window_start = LocalTimeField(help_text="Earliest local time of the callee.")
    window_end = LocalTimeField(help_text="Latest local time of the callee.")
    dispositions = DispositionOut(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", *SETTABLE, "state", "state_reason", "is_callbacks", "active", "created", "dispositions"]


CAMPAIGN_EXAMPLE = {
    "id": 2, "name": "Furnace tune-up reminders", "purpose": "informational", "subject": "", "channel": "voice",
    "script": 7, "sms_text": "", "caller_id": "+12125550101", "local_presence": True, "window_start": "09:00:00",
    "window_end": "20:00:00", "days": [0, 1, 2, 3, 4, 5], "mode": "progressive", "max_lines_per_agent": "6.0",
    "max_attempts": 3, "retry_busy_minutes": 10, "retry_no_answer_minutes": 120, "retry_machine_minutes": 1440,
    "retry_failed_minutes": 1440, "retry_abandoned_minutes": 60, "ring_seconds": 25, "amd": True,
    "voicemail_drop": "spoken", "voicemail_text": "", "voicemail_audio_url": "", "safe_harbour_text": "",
    "starts_at": None, "ends_at": None, "max_attempts_per_24h": None, "max_attempts_per_7d": None,
    "state": "running", "state_reason": "Started by API key sb_AbCd1234… (CRM) at 09:02.", "is_callbacks": False,
    "active": True, "created": "2026-06-01T13:00:00Z",
    "dispositions": [{"code": "sale", "label": "Sale", "kind": "sale", "final": True, "success": True}]}


class CampaignIn(serializers.Serializer):
    """Shapes only: the rules (a valid caller ID, unique name, choices) are the model's ``full_clean``."""

    name = serializers.CharField(max_length=200)
    purpose = serializers.ChoiceField(choices=[p for p in Purpose.choices if p[0] != Purpose.STAFF])
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Campaign.Kind.choices, required=False)
    script = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                      help_text="The script agents read on a connected call (its id).")
    sms_text = serializers.CharField(required=False, allow_blank=True, max_length=1600,
                                     help_text="Texts campaigns: the text; {first_name} etc. merge the contact.")
    caller_id = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                      help_text="One of your numbers (any format); empty: your first.")
    local_presence = serializers.BooleanField(required=False)
    window_start = LocalTimeField(required=False, help_text="Earliest local time of the callee.")
    window_end = LocalTimeField(required=False, help_text="Latest local time of the callee.")
    days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False,
                                 max_length=7, help_text="Weekdays to call on, 0 = Monday.")
    mode = serializers.ChoiceField(choices=Campaign.Mode.choices, required=False)
    max_lines_per_agent = serializers.DecimalField(max_digits=3, decimal_places=1, min_value=1, required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, required=False)
    retry_busy_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    retry_no_answer_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    retry_machine_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    retry_failed_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    retry_abandoned_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    ring_seconds = serializers.IntegerField(min_value=15, max_value=120, required=False,
                                            help_text="How long a call rings (at least 15 s).")
    amd = serializers.BooleanField(required=False, help_text="Answering-machine detection.")
    voicemail_drop = serializers.ChoiceField(choices=Campaign.Drop.choices, required=False)
    voicemail_text = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    voicemail_audio_url = serializers.URLField(required=False, allow_blank=True, max_length=200)
    safe_harbour_text = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    max_attempts_per_24h = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)
    max_attempts_per_7d = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)

    def validate(self, data):
        for name, value in data.items():
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({name: "Holds a NUL character."})
        if data.get("window_start") and data.get("window_end") and data["window_start"] >= data["window_end"]:
            raise serializers.ValidationError({"window_end": "The calling window ends before it starts."})
        for name in ("starts_at", "ends_at"):
            if data.get(name) and not 2000 <= data[name].year <= 2100:
                raise serializers.ValidationError({name: "Not a date a campaign can run on (years 2000–2100)."})
        if data.get("starts_at") and data.get("ends_at") and data["starts_at"] >= data["ends_at"]:
            raise serializers.ValidationError({"ends_at": "The campaign ends before it starts."})
        if "days" in data and len(set(data["days"])) != len(data["days"]):
            raise serializers.ValidationError({"days": "Each weekday once."})
        return data


class CampaignFilters(serializers.Serializer):
    state = serializers.ChoiceField(choices=Campaign.State.choices, required=False)


class Campaigns(ApiListView):
    serializer_class = CampaignOut

    @property
    def required_scopes(self) -> tuple[str, ...]:  # GET lists them, POST creates one
        if self.request.method == "POST":
            return (Scope.CAMPAIGNS_READ, Scope.CAMPAIGNS_WRITE)
        return (Scope.CAMPAIGNS_READ,)

    @extend_schema(operation_id="campaigns_list", tags=["campaigns"], summary="Campaigns, newest first",
                   parameters=[CampaignFilters, *PAGE],
                   responses={200: CampaignOut(many=True), **problems(400, 401, 403, 429)},
                   examples=[OpenApiExample("A page", value=CAMPAIGN_EXAMPLE, response_only=True)])
    def get(self, request):
        filters = CampaignFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = Campaign.objects.prefetch_related("dispositions")
        if state := filters.validated_data.get("state"):
            found = found.filter(state=state)
        return self.get_paginated_response(CampaignOut(self.paginate_queryset(found), many=True).data)


    @extend_schema(
        operation_id="campaigns_create", tags=["campaigns"], summary="Create a campaign (not started)",
        description="With the usual dispositions (sale, appointment, callback, not interested, wrong number, do "
                    "not call). Omitted settings take their defaults (calls, progressive, 09:00–20:00 Monday to "
                    "Saturday in the callee's time, 3 attempts). Add contacts with a list and an import, then start.",
        request=CampaignIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: CampaignOut, **problems(400, 401, 403, 409, 422, 429)},
        examples=[OpenApiExample("Reminders", request_only=True, value={
            "name": "Furnace tune-up reminders", "purpose": "informational", "channel": "voice", "script": 7,
            "mode": "progressive", "window_start": "09:00", "window_end": "19:00", "max_attempts": 2})])
    def post(self, request):
        data = CampaignIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields.get("script") is not None:
            script = Script.objects.filter(pk=fields["script"]).first()
            if script is None:
                raise _invalid("script", "No such script.")
            fields["script"] = script
        # Refused by field (a Django ValidationError becomes a 400 problem naming each), nothing written.
        campaign = lifecycle.campaign_create(**fields)
        return Response(CampaignOut(Campaign.objects.prefetch_related("dispositions").get(pk=campaign.pk)).data,
                        status=201)


class CampaignDetail(ApiView):
    required_scopes = (Scope.CAMPAIGNS_READ,)

    @extend_schema(operation_id="campaigns_retrieve", tags=["campaigns"], summary="One campaign",
                   responses={200: CampaignOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A campaign", value=CAMPAIGN_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        return Response(CampaignOut(get_object_or_404(Campaign.objects.prefetch_related("dispositions"),
                                                      pk=pk)).data)


def _start_spend(client: Client, campaign: Campaign) -> None:
    """Take from the hour's API spending cap what starting ``campaign`` causes, or raise a 429 problem.

    A texts campaign texts every contact left with no agent in the loop (only the calls-per-second
    budget paces it): one text per contact still to text, and all of them must fit. A calls
    campaign places calls only as agents are free for them (or, in preview, as they dial): it takes
    one call per contact still to dial, up to what is left of the hour's allowance — so a start is
    refused once the hour's allowance is used up, and a large start uses up the rest of the hour."""
    to_dial = Contact.objects.filter(campaign=campaign, status__in=Contact.DIALABLE).count()
    if campaign.channel == Campaign.Kind.SMS:
        spend_take(client, "texts", n=max(1, to_dial))
        return
    try:
        left = settings.API_SPEND_CALLS_PER_HOUR - spend_used(client, "calls")
    except redis.RedisError:
        left = to_dial  # spend_take answers 503 for it
    spend_take(client, "calls", n=max(1, min(to_dial, left)))


class CampaignStart(ApiView):
    required_scopes = (Scope.CAMPAIGNS_READ, Scope.CAMPAIGNS_WRITE)

    @extend_schema(
        operation_id="campaigns_start", tags=["campaigns"], summary="Start (or resume) a campaign",
        description="The dialer takes it up within a second; the compliance gate judges every contact just before "
                    "it is dialed, in the contact's own time zone. Refused (422) for a stopped or completed "
                    "campaign, a texts campaign with no text, one switched off. Metered by the hourly spending cap "
                    "(429 with Retry-After, nothing started): a texts campaign takes one text per contact left to "
                    "text; a calls campaign one call per contact left to dial, up to what is left of the hour's "
                    "allowance. Starting a running campaign changes nothing and takes nothing.",
        request=None, parameters=[PROBLEMS["idempotency"]],
        responses={200: CampaignOut, **problems(400, 401, 403, 404, 409, 422, 429, 503)},
        examples=[OpenApiExample("Started", value=CAMPAIGN_EXAMPLE, response_only=True)])
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        try:
            # One savepoint: a spending refusal undoes the start (a 4xx answer itself commits).
            with transaction.atomic():
                running = Campaign.objects.select_for_update().get(pk=pk).state == Campaign.State.RUNNING
                campaign = lifecycle.campaign_start(campaign=campaign, by=request.user.label)
                if not running:
                    _start_spend(request.tenant, campaign)
        except lifecycle.CampaignRefused as exc:
            raise _refused(exc) from exc
        return Response(CampaignOut(Campaign.objects.prefetch_related("dispositions").get(pk=pk)).data)


class PauseIn(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=300,
                                   help_text="Why, in words (shown on the wallboard and the portal).")

    def validate_reason(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Holds a NUL character.")
        return value


class CampaignPause(ApiView):
    required_scopes = (Scope.CAMPAIGNS_READ, Scope.CAMPAIGNS_WRITE)

    @extend_schema(
        operation_id="campaigns_pause", tags=["campaigns"], summary="Pause a running campaign",
        description="No new calls or texts; calls in progress finish. Start resumes. A campaign that is not "
                    "running is left as it is (its `state` says so).",
        request=PauseIn, parameters=[PROBLEMS["idempotency"]],
        responses={200: CampaignOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Paused", value={**CAMPAIGN_EXAMPLE, "state": "paused",
                                                  "state_reason": "Paused by API key sb_AbCd1234… (CRM) at 12:00."},
                                 response_only=True)])
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        data = PauseIn(data=request.data)
        data.is_valid(raise_exception=True)
        lifecycle.campaign_pause(campaign=campaign, by=request.user.label, reason=data.validated_data["reason"])
        return Response(CampaignOut(Campaign.objects.prefetch_related("dispositions").get(pk=pk)).data)


# --- Results --------------------------------------------------------------------------------

class FiguresOut(serializers.Serializer):
    contacts = serializers.IntegerField()
    contacts_left = serializers.IntegerField(help_text="Still to dial (new, retry, callback) or being called.")
    contacts_by_status = serializers.DictField(child=serializers.IntegerField())
    attempts = serializers.IntegerField()
    attempts_by_outcome = serializers.DictField(child=serializers.IntegerField())
    dials = serializers.IntegerField(help_text="Attempts that reached the telephone network and ended.")
    answers = serializers.IntegerField(help_text="Dials answered by a person or a machine.")
    answer_rate = serializers.FloatField(allow_null=True)
    attempts_today = serializers.IntegerField()
    dials_today = serializers.IntegerField()
    answers_today = serializers.IntegerField()
    answer_rate_today = serializers.FloatField(allow_null=True)
    abandoned_today = serializers.IntegerField()
    live_today = serializers.IntegerField()
    abandon_rate_today = serializers.FloatField(allow_null=True)
    abandoned_30d = serializers.IntegerField()
    live_30d = serializers.IntegerField()
    abandon_rate_30d = serializers.FloatField(allow_null=True, help_text="The compliance gate's own rate.")
    abandonment_status = serializers.CharField(help_text="The gate's: ok, slow_down, stop.")
    abandonment_risk = serializers.ChoiceField(choices=["ok", "near", "over"])
    conversions = serializers.IntegerField(help_text="Attempts whose disposition counts as a success.")
    at = serializers.DateTimeField()


class ResultOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The contact's id.")
    list = serializers.IntegerField()
    number = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Contact.Status.choices)
    attempts = serializers.IntegerField()
    last_outcome = serializers.CharField(help_text="The last attempt's outcome (empty: none yet).")
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    disposition = serializers.CharField(allow_null=True, help_text="The disposition's code.")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True,
                                      help_text="From the latest attempt (a sale's).")
    agent = serializers.CharField(help_text="The agent of the latest attempt (first name).")
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class ResultsOut(serializers.Serializer):
    figures = FiguresOut()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ResultOut(many=True)


class ResultsFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    outcome = serializers.ChoiceField(choices=CallAttempt.Outcome.choices, required=False,
                                      help_text="The last outcome.")
    list = serializers.IntegerField(required=False, min_value=1)
    q = serializers.CharField(required=False, max_length=100, help_text="A name, or digits of the number.")

    def validate_q(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Holds a NUL character.")
        return value


class CampaignResults(ApiListView):
    required_scopes = (Scope.CAMPAIGNS_READ,)
    serializer_class = ResultOut

    @extend_schema(
        operation_id="campaigns_results", tags=["campaigns"], summary="A campaign's figures and its contacts' outcomes",
        description="The figures the portal's results page shows (dials, answers, answer rate, abandonment today and "
                    "over 30 days, conversions; docs/campaigns.md defines each), and a page of contacts, newest "
                    "first, each with its status, attempts, last outcome and disposition.",
        parameters=[ResultsFilters, *PAGE], responses={200: ResultsOut, **problems(400, 401, 403, 404, 429)})
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        filters = ResultsFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.campaign_results(campaign, filters.validated_data))
        names = agent_names(c.last_agent_id for c in page)
        rows = [{"id": c.pk, "list": c.list_id, "number": c.number, "first_name": c.first_name,
                 "last_name": c.last_name, "status": c.status, "attempts": c.attempts, "last_outcome": c.last_outcome,
                 "last_attempt_at": c.last_attempt_at, "disposition": c.disposition.code if c.disposition else None,
                 "amount": c.last_amount, "agent": names.get(c.last_agent_id, ""),
                 "next_attempt_at": c.next_attempt_at} for c in page]
        response = self.get_paginated_response(ResultOut(rows, many=True).data)
        figures = selectors.campaign_figures(campaign)
        response.data = {"figures": FiguresOut({**asdict(figures), "abandonment_risk": figures.abandonment_risk}).data,
                         **response.data}
        return response
