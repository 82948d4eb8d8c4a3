"""Do not call and consent: the client's DNC list (add, remove — entries are kept), consents
(add, list, remove — kept, stamped revoked), and checking a number with the compliance gate (its
decision and reasons; nothing is placed)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.errors import Problem
from api.models import Scope
from api.views.base import ApiListView, ApiView
from api.views.schema import PROBLEMS, problems
from compliance import selectors, services
from compliance.models import Consent, DncEntry
from compliance.rules import Channel, OptOutSource, Purpose


def _number_refused(exc: ValidationError, field: str = "number") -> Problem:
    message = exc.messages[0] if exc.messages else "Not a valid phone number."
    return Problem(400, "invalid", "The request's input is not valid", f"{field}: {message}",
                   errors=[{"field": field, "message": message}])


class DncEntryOut(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = DncEntry
        fields = ["id", "number", "source", "reason", "added_by", "created", "active", "removed_at", "removed_by",
                  "removed_reason"]


class DncFilters(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=40, help_text="Digits of the number, or words of the reason.")
    include_removed = serializers.BooleanField(required=False, default=False)

    def validate_q(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Holds a NUL character.")
        return value


class DncAddIn(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="Any format; stored in E.164.")
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class DncRemoveIn(DncAddIn):
    pass


DNC_EXAMPLE = {"id": 7, "number": "+12125557777", "source": "api", "reason": "Asked on the phone",
               "added_by": "API key sb_AbCd1234… (CRM)", "created": "2026-01-05T15:00:00Z", "active": True,
               "removed_at": None, "removed_by": "", "removed_reason": ""}


class DncList(ApiListView):
    required_scopes = (Scope.COMPLIANCE_READ,)
    serializer_class = DncEntryOut

    @extend_schema(operation_id="dnc_list", tags=["compliance"], summary="The do-not-call list, newest first",
                   parameters=[DncFilters, OpenApiParameter("limit", int, description="Page size, 1–200."),
                               OpenApiParameter("cursor", str)],
                   responses={200: DncEntryOut(many=True), **problems(400, 401, 403, 429)})
    def get(self, request):
        filters = DncFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = selectors.dnc_entry_list(query=filters.validated_data.get("q", ""),
                                         include_removed=filters.validated_data["include_removed"])
        return self.get_paginated_response(DncEntryOut(self.paginate_queryset(found), many=True).data)


class DncAdd(ApiView):
    required_scopes = (Scope.COMPLIANCE_WRITE,)

    @extend_schema(
        operation_id="dnc_add", tags=["compliance"], summary="Add a number to the do-not-call list",
        description="Takes effect before the next call or text, on every channel and campaign, and revokes the "
                    "number's consents. 201 when added; 200 when it was already on the list (nothing changes).",
        request=DncAddIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: DncEntryOut, 200: DncEntryOut, **problems(400, 401, 403, 409, 422, 429)},
        examples=[OpenApiExample("Add", value={"number": "(212) 555-7777", "reason": "Asked on the phone"},
                                 request_only=True),
                  OpenApiExample("Added", value=DNC_EXAMPLE, response_only=True, status_codes=["201"])])
    def post(self, request):
        data = DncAddIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry, created = services.opt_out_record(client=request.tenant, number=data.validated_data["number"],
                                                     source=OptOutSource.API, added_by=request.user.label,
                                                     reason=data.validated_data["reason"])
        except ValidationError as exc:
            raise _number_refused(exc) from exc
        return Response(DncEntryOut(entry).data, status=201 if created else 200)


class DncRemove(ApiView):
    required_scopes = (Scope.COMPLIANCE_WRITE,)

    @extend_schema(
        operation_id="dnc_remove", tags=["compliance"], summary="Take a number off the do-not-call list",
        description="The entry is kept for the record (five years), stamped removed. 404 when the number is "
                    "not on the list.",
        request=DncRemoveIn, parameters=[PROBLEMS["idempotency"]],
        responses={200: DncEntryOut, **problems(400, 401, 403, 404, 409, 422, 429)})
    def post(self, request):
        data = DncRemoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry = services.dnc_entry_remove(client=request.tenant, number=data.validated_data["number"],
                                              removed_by=request.user.label, reason=data.validated_data["reason"])
        except ValidationError as exc:
            raise _number_refused(exc) from exc
        if entry is None:
            raise Problem(404, "not-on-list", "Not on the list", "That number is not on the do-not-call list.")
        return Response(DncEntryOut(entry).data)


class ConsentOut(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["id", "number", "kind", "source", "evidence", "obtained_at", "expires_at", "revoked_at",
                  "revoked_reason", "recorded_by", "created"]


class ConsentFilters(serializers.Serializer):
    number = serializers.CharField(required=False, max_length=40, help_text="Only this number's (any format).")
    include_revoked = serializers.BooleanField(required=False, default=False)


class ConsentAddIn(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=Consent.Kind.choices)
    source = serializers.ChoiceField(choices=Consent.Source.choices)
    obtained_at = serializers.DateTimeField(help_text="When it was given (or the transaction or inquiry happened).")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    evidence = serializers.CharField(required=False, default="", allow_blank=True, max_length=5000,
                                     help_text="The wording agreed to, a URL, a recording reference…")


class ConsentList(ApiListView):
    required_scopes = (Scope.COMPLIANCE_READ,)
    serializer_class = ConsentOut

    @extend_schema(operation_id="consents_list", tags=["compliance"], summary="Consents, newest first",
                   parameters=[ConsentFilters, OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
                   responses={200: ConsentOut(many=True), **problems(400, 401, 403, 429)})
    def get(self, request):
        from tenants.phone import to_e164

        filters = ConsentFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = Consent.objects.all()
        if number := filters.validated_data.get("number"):
            try:
                found = found.filter(number=to_e164(number))
            except ValidationError as exc:
                raise _number_refused(exc) from exc
        if not filters.validated_data["include_revoked"]:
            found = found.filter(revoked_at__isnull=True)
        return self.get_paginated_response(ConsentOut(self.paginate_queryset(found), many=True).data)


class ConsentAdd(ApiView):
    required_scopes = (Scope.COMPLIANCE_WRITE,)

    @extend_schema(
        operation_id="consents_add", tags=["compliance"], summary="Record a consent or business relationship",
        request=ConsentAddIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: ConsentOut, **problems(400, 401, 403, 409, 422, 429)},
        examples=[OpenApiExample("Web form", request_only=True, value={
            "number": "+12125557777", "kind": "express_written", "source": "web_form",
            "obtained_at": "2026-01-05T15:00:00Z", "evidence": "Checked “Text me reminders” on the booking form"})])
    def post(self, request):
        data = ConsentAddIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            consent = services.consent_record(client=request.tenant, number=d["number"], kind=d["kind"],
                                              source=d["source"], obtained_at=d["obtained_at"],
                                              expires_at=d["expires_at"], evidence=d["evidence"],
                                              recorded_by=request.user.label)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise _number_refused(exc) from exc
        return Response(ConsentOut(consent).data, status=201)


class ConsentRemoveIn(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="Any format.")
    kind = serializers.ChoiceField(choices=Consent.Kind.choices, required=False,
                                   help_text="Only consents of this kind; left out: every kind.")
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ConsentRemoveOut(serializers.Serializer):
    revoked = ConsentOut(many=True, help_text="The consents revoked by this request.")


class ConsentRemove(ApiView):
    required_scopes = (Scope.COMPLIANCE_WRITE,)

    @extend_schema(
        operation_id="consents_remove", tags=["compliance"], summary="Withdraw a number's consent",
        description="Its consents still in force (of `kind`, if given) are kept for the record, stamped revoked, "
                    "and written to the audit ledger; the gate stops counting them before the next call or text. "
                    "404 when the number has no such consent in force (so a repeat changes nothing).",
        request=ConsentRemoveIn, parameters=[PROBLEMS["idempotency"]],
        responses={200: ConsentRemoveOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Withdraw", request_only=True, value={
            "number": "+12125557777", "kind": "express_written", "reason": "Asked on the phone to stop reminders"})])
    def post(self, request):
        data = ConsentRemoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            revoked = services.consents_revoke(number=d["number"], kind=d.get("kind"), by=request.user.label,
                                               reason=d["reason"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise _number_refused(exc) from exc
        if not revoked:
            raise Problem(404, "no-consent", "No consent in force",
                          "That number has no consent in force" + (f" of kind {d['kind']}." if d.get("kind") else "."))
        return Response(ConsentRemoveOut({"revoked": revoked}).data)


class CheckIn(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    state = serializers.RegexField(r"^[A-Za-z]{2}$", required=False,
                                   help_text="The contact's address state (e.g. FL), when known.")


class ReasonOut(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()
    deny = serializers.BooleanField()


class DecisionOut(serializers.Serializer):
    allowed = serializers.BooleanField()
    number = serializers.CharField()
    purpose = serializers.CharField()
    channel = serializers.CharField()
    at = serializers.DateTimeField()
    reasons = ReasonOut(many=True)
    ledger_id = serializers.IntegerField(allow_null=True, help_text="The audit ledger's entry for this check.")


class NumberCheck(ApiView):
    required_scopes = (Scope.COMPLIANCE_READ,)

    @extend_schema(
        operation_id="compliance_check", tags=["compliance"], summary="May this number be contacted now?",
        description="The compliance gate's decision, with every reason, exactly as a dial or a send would get "
                    "it. Nothing is placed or sent; the question is written to the audit ledger.",
        parameters=[CheckIn], responses={200: DecisionOut, **problems(400, 401, 403, 429)},
        examples=[OpenApiExample("Denied", response_only=True, value={
            "allowed": False, "number": "+12125557777", "purpose": "telemarketing", "channel": "sms",
            "at": "2026-01-05T15:00:00Z", "ledger_id": 901,
            "reasons": [{"code": "client_dnc", "text": "On the client's do-not-call list (API).", "deny": True}]})])
    def get(self, request):
        data = CheckIn(data=request.query_params)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        decision = services.contact_decide(client=request.tenant, number=d["number"], purpose=d["purpose"],
                                           channel=d["channel"], contact_address=(d.get("state") or "").upper() or None,
                                           asked_by=request.user.label)
        return Response(DecisionOut({**decision.__dict__, "reasons": [r.as_dict() for r in decision.reasons]}).data)
