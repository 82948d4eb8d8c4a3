"""Contacts and lists: a campaign's lists (list, one, create), CSV imports into a list (an
asynchronous job, run by the portal's own Celery task: its state, progress and every refused
line), and contacts (filtered, one with its attempts and their outcomes)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from api import idempotency
from api.errors import Problem
from api.models import Scope
from api.spend import spend_take
from api.views.base import ApiListView, ApiView, iso
from api.views.schema import PROBLEMS, problems
from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from campaigns.selectors import LEFT
from campaigns.services import imports

PAGE = [OpenApiParameter("limit", int, description="Page size, 1–200 (default 50)."),
        OpenApiParameter("cursor", str, description="From the previous page's next or previous link.")]


def _invalid(field: str, messages: list[str]) -> Problem:
    return Problem(400, "invalid", "The request's input is not valid", "; ".join(f"{field}: {m}" for m in messages),
                   errors=[{"field": field, "message": m} for m in messages])


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError("Holds a NUL character.")
    return value


# --- Lists --------------------------------------------------------------------------------

class ContactListOut(serializers.ModelSerializer):
    contacts = serializers.IntegerField(source="contacts_total", help_text="Contacts in the list.")
    contacts_left = serializers.IntegerField(help_text="Still to dial or being called now.")

    class Meta:
        model = ContactList
        fields = ["id", "campaign", "name", "priority", "active", "recycled", "created", "contacts", "contacts_left"]


def _lists() -> QuerySet[ContactList]:
    return ContactList.objects.annotate(contacts_total=Count("contacts"),
                                        contacts_left=Count("contacts", filter=Q(contacts__status__in=LEFT)))


LIST_EXAMPLE = {"id": 4, "campaign": 2, "name": "June renewals", "priority": 10, "active": True, "recycled": 0,
                "created": "2026-06-01T14:00:00Z", "contacts": 1250, "contacts_left": 830}


class ContactListFilters(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, min_value=1, help_text="Only this campaign's lists.")


class ContactListIn(serializers.Serializer):
    campaign = serializers.IntegerField(min_value=1, help_text="The campaign's id.")
    name = serializers.CharField(max_length=200, validators=[_no_nul])
    priority = serializers.IntegerField(required=False, default=0, min_value=-1000, max_value=1000,
                                        help_text="Higher is dialed first.")


class ContactLists(ApiListView):
    serializer_class = ContactListOut

    @property
    def required_scopes(self) -> tuple[str, ...]:  # GET lists them, POST creates one
        if self.request.method == "POST":
            return (Scope.CONTACTS_READ, Scope.CONTACTS_WRITE)
        return (Scope.CONTACTS_READ,)

    @extend_schema(operation_id="contact_lists_list", tags=["contacts"], summary="Contact lists, newest first",
                   parameters=[ContactListFilters, *PAGE],
                   responses={200: ContactListOut(many=True), **problems(400, 401, 403, 429)},
                   examples=[OpenApiExample("A page", value=LIST_EXAMPLE, response_only=True)])
    def get(self, request):
        filters = ContactListFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = _lists()
        if campaign := filters.validated_data.get("campaign"):
            found = found.filter(campaign_id=campaign)
        return self.get_paginated_response(ContactListOut(self.paginate_queryset(found), many=True).data)


    @extend_schema(
        operation_id="contact_lists_create", tags=["contacts"], summary="Create a contact list in a campaign",
        description="201 with the new list; 200 with the existing one when the campaign already has a list of "
                    "that name (its priority is left as it is).",
        request=ContactListIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: ContactListOut, 200: ContactListOut, **problems(400, 401, 403, 409, 422, 429)},
        examples=[OpenApiExample("Create", request_only=True,
                                 value={"campaign": 2, "name": "June renewals", "priority": 10})])
    def post(self, request):
        data = ContactListIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        campaign = Campaign.objects.filter(pk=d["campaign"]).first()
        if campaign is None:
            raise _invalid("campaign", ["No such campaign."])
        field = "name"
        try:
            # A 4xx answer commits (with its Idempotency-Key): a refused priority must leave no list behind.
            with transaction.atomic():
                contact_list, created = imports.contact_list_get_or_create(campaign=campaign, name=d["name"])
                if created and d["priority"]:
                    field = "priority"
                    imports.contact_list_priority_set(contact_list=contact_list, priority=d["priority"])
        except ValidationError as exc:
            raise _invalid(field, exc.messages) from exc
        return Response(ContactListOut(_lists().get(pk=contact_list.pk)).data, status=201 if created else 200)


class ContactListDetail(ApiView):
    required_scopes = (Scope.CONTACTS_READ,)

    @extend_schema(operation_id="contact_lists_retrieve", tags=["contacts"], summary="One contact list",
                   responses={200: ContactListOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A list", value=LIST_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        return Response(ContactListOut(get_object_or_404(_lists(), pk=pk)).data)


# --- Imports ------------------------------------------------------------------------------

class ImportProgressOut(serializers.Serializer):
    done = serializers.IntegerField(help_text="Lines of the file checked so far.")
    total = serializers.IntegerField(help_text="Lines in the file (0 until a worker starts).")
    percent = serializers.IntegerField()


class RowErrorOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="In the file as a person counts: the header is line 1.")
    field = serializers.CharField(help_text="The contact field (number, email, field:<name>…) or row.")
    reason = serializers.CharField()


class ImportOut(serializers.Serializer):
    id = serializers.IntegerField()
    list = serializers.IntegerField(help_text="The contact list's id.")
    campaign = serializers.IntegerField()
    filename = serializers.CharField()
    state = serializers.ChoiceField(choices=ContactImport.Status.choices)
    finished = serializers.BooleanField()
    progress = ImportProgressOut()
    text = serializers.CharField(help_text="Where it stands, in words (as the portal's bar says it).")
    mapping = serializers.DictField(child=serializers.CharField(), help_text="CSV column → contact field.")
    added = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Numbers already in the campaign, updated (a re-import).")
    merged = serializers.IntegerField(help_text="Rows repeating a number earlier in the file.")
    errors_count = serializers.IntegerField(help_text="Lines refused.")
    errors = RowErrorOut(many=True, help_text="Refused lines, from errors_offset (none until the job is over).")
    errors_next = serializers.CharField(allow_null=True, help_text="The next refused lines' page, if any.")
    failure = serializers.CharField(help_text="Why a failed job imported nothing.")
    created = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(help_text="Where to poll this job.")


def _job_out(request, job: ContactImport, *, errors_offset: int = 0, errors_limit: int = 0) -> dict:
    progress = imports.contact_import_progress(job=job)
    url = request.build_absolute_uri(f"/api/v1/imports/{job.pk}")
    errors, following = [], None
    if errors_limit and job.is_finished:
        errors = job.errors[errors_offset:errors_offset + errors_limit]
        if errors_offset + errors_limit < len(job.errors):
            following = f"{url}?errors_offset={errors_offset + errors_limit}&errors_limit={errors_limit}"
    return {"id": job.pk, "list": job.list_id, "campaign": job.list.campaign_id, "filename": job.filename,
            "state": job.status, "finished": job.is_finished,
            "progress": {"done": progress["lines_done"], "total": progress["lines_total"],
                         "percent": progress["percent"]},
            "text": progress["text"], "mapping": job.mapping, "added": job.added, "updated": job.updated,
            "merged": job.merged, "errors_count": job.errors_count, "errors": errors, "errors_next": following,
            "failure": job.failure, "created": iso(job.created), "finished_at": iso(job.finished), "url": url}


IMPORT_EXAMPLE = {
    "id": 31, "list": 4, "campaign": 2, "filename": "june.csv", "state": "done", "finished": True,
    "progress": {"done": 1251, "total": 1251, "percent": 100},
    "text": "Done: 1,240 added, 8 updated, 1 duplicate merged, 2 lines not imported.",
    "mapping": {"Phone": "number", "First Name": "first_name", "Plan": "field:plan"}, "added": 1240, "updated": 8,
    "merged": 1, "errors_count": 2, "errors": [
        {"line": 17, "field": "number", "reason": "“banana” is not a phone number."},
        {"line": 903, "field": "state", "reason": "“ZZ” is not a US state code (two letters, e.g. NY)."}],
    "errors_next": None, "failure": "", "created": "2026-06-01T14:00:00Z", "finished_at": "2026-06-01T14:00:04Z",
    "url": "https://northside.example/api/v1/imports/31"}

_MAPPING_HELP = ("CSV column → contact field: number (required), first_name, last_name, email, state, "
                 "postal_code, time_zone, or field:<name> (a custom field); an empty field leaves the column out. "
                 "Without it, guessed from the headers (Phone, First Name, Zip Code…), every other column a "
                 "custom field.")


class ImportJsonIn(serializers.Serializer):
    csv = serializers.CharField(trim_whitespace=False, help_text="The CSV file's text; its first row names the "
                                                                 "columns.")
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                    help_text=_MAPPING_HELP)
    filename = serializers.CharField(required=False, default="", allow_blank=True, max_length=255,
                                     validators=[_no_nul])


class ImportFormIn(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8, UTF-16 or Windows-1252; any delimiter).")
    mapping = serializers.CharField(required=False, help_text=f"A JSON object. {_MAPPING_HELP}")
    filename = serializers.CharField(required=False, default="", allow_blank=True, max_length=255,
                                     validators=[_no_nul])


def _mapping_parse(raw) -> dict[str, str] | None:
    """The mapping given (a JSON object of strings, or its text in a form), None when absent."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise _invalid("mapping", [f"Not JSON ({exc.msg}); send an object such as {{\"Phone\": \"number\"}}."]) \
                from exc
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise _invalid("mapping", ["An object of CSV column → contact field, both strings."])
    return raw


class ImportCreate(ApiView):
    required_scopes = (Scope.CONTACTS_READ, Scope.CONTACTS_WRITE)
    parser_classes = [JSONParser, MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # The Idempotency-Key's fingerprint hashes the body in memory, which Django caps at
        # DATA_UPLOAD_MAX_MEMORY_SIZE (it would refuse it with a 500): refuse it here, saying why.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if idempotency.HEADER in request.headers and cap is not None and length > cap:
            raise Problem(413, "too-large", "Request too large",
                          f"With an Idempotency-Key an import's body holds at most {cap // 1024:,} KB; send a "
                          f"bigger file (up to {imports.MAX_IMPORT_BYTES // (1024 * 1024)} MB) without one, or "
                          "split it.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="contact_imports_create", tags=["contacts"], summary="Import a CSV file into a list",
        description="Queues an import (202): poll the job at `url` (also the `Location` header) for its progress, "
                    "counts and every refused line (line, field, reason) while the good rows are kept. Send the "
                    "file as multipart (`file`, with `mapping` as JSON text) or as JSON (`csv`, `mapping`). A "
                    "number already in the campaign is updated (non-empty cells replace, custom fields merge) and "
                    "never re-dialed because of it: re-importing is how a list is updated. A file that cannot be "
                    "read or a mapping that does not fit it is refused at once (400, naming `file`/`csv` or "
                    "`mapping`), and nothing is written. Into a running text campaign, each line of the file "
                    "takes one text from the hour's API spending cap (429 when over).",
        request={"application/json": ImportJsonIn, "multipart/form-data": ImportFormIn},
        parameters=[PROBLEMS["idempotency"]],
        responses={202: ImportOut, **problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
        examples=[OpenApiExample("JSON", request_only=True, media_type="application/json", value={
            "csv": "Phone,First Name,Plan\n(212) 555-0142,Ann,Gold\n305-555-0142,Bill,Silver\n",
            "mapping": {"Phone": "number", "First Name": "first_name", "Plan": "field:plan"},
            "filename": "june.csv"}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
                **IMPORT_EXAMPLE, "state": "queued", "finished": False, "progress": {"done": 0, "total": 0,
                                                                                     "percent": 0},
                "text": "Waiting for a worker to start…", "added": 0, "updated": 0, "merged": 0,
                "errors_count": 0, "errors": [], "finished_at": None})])
    def post(self, request, pk: int):
        contact_list = get_object_or_404(ContactList.objects.select_related("campaign"), pk=pk)
        is_form = (request.content_type or "").startswith("multipart/")
        data = (ImportFormIn if is_form else ImportJsonIn)(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        source = "file" if is_form else "csv"
        if is_form:
            upload = d["file"]
            if upload.size > imports.MAX_IMPORT_BYTES:  # before reading it into memory
                raise _invalid("file", [f"Over {imports.MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."])
            raw, filename = upload.read(), d["filename"] or upload.name or ""
        else:
            raw, filename = d["csv"].encode(), d["filename"]
            if len(raw) > imports.MAX_IMPORT_BYTES:
                raise _invalid("csv", [f"Over {imports.MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."])
        try:
            columns = imports.csv_columns(raw)  # a workbook, a PDF, an empty file: refused by name
        except ValidationError as exc:
            raise _invalid(source, exc.messages) from exc
        mapping = _mapping_parse(d.get("mapping"))
        try:
            mapping = imports.mapping_check(mapping=imports.mapping_guess(columns) if mapping is None else mapping,
                                            columns=columns)
        except ValidationError as exc:
            raise _invalid("mapping", exc.messages) from exc
        campaign = contact_list.campaign
        if campaign.channel == Campaign.Kind.SMS and campaign.state == Campaign.State.RUNNING:
            # A running text campaign texts new contacts with no agent in the loop: each line may be one.
            # Taken last, once nothing else can refuse the request (Redis has no rollback).
            spend_take(request.tenant, "texts", n=max(1, len(raw.splitlines()) - 1))
        job = imports.contact_import_start(contact_list=contact_list, filename=filename, data=raw, mapping=mapping,
                                           added_by=request.user.label)
        out = _job_out(request, job)
        return Response(out, status=202, headers={"Location": out["url"]})


class ImportFilters(serializers.Serializer):
    errors_offset = serializers.IntegerField(required=False, default=0, min_value=0,
                                             help_text="The first refused line to list (0: from the start).")
    errors_limit = serializers.IntegerField(required=False, default=200, min_value=0, max_value=5000,
                                            help_text="How many refused lines to list (0: none).")


class ImportDetail(ApiView):
    required_scopes = (Scope.CONTACTS_READ,)

    @extend_schema(operation_id="contact_imports_retrieve", tags=["contacts"],
                   summary="An import: its state, progress, counts and refused lines",
                   parameters=[ImportFilters], responses={200: ImportOut, **problems(400, 401, 403, 404, 429)},
                   examples=[OpenApiExample("Done", value=IMPORT_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        filters = ImportFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        job = get_object_or_404(ContactImport.objects.select_related("list").defer("data"), pk=pk)
        out = _job_out(request, job, **filters.validated_data)
        response = Response(out)
        response["Cache-Control"] = "no-store"  # polled for its progress
        return response


# --- Contacts -----------------------------------------------------------------------------

CONTACT_FIELDS = ["id", "campaign", "list", "number", "first_name", "last_name", "email", "state", "postal_code",
                  "time_zone", "fields", "status", "attempts", "next_attempt_at", "last_outcome", "last_attempt_at",
                  "disposition", "reason", "created", "updated"]


class ContactOut(serializers.ModelSerializer):
    fields = serializers.JSONField(help_text="Custom fields, by name (scripts merge them in).")
    disposition = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                               help_text="The disposition's code, if an agent closed it.")

    class Meta:
        model = Contact
        fields = CONTACT_FIELDS


class AttemptOut(serializers.ModelSerializer):
    disposition = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = CallAttempt
        fields = ["id", "channel", "started_at", "answered_at", "ended_at", "outcome", "answered_by", "disposition",
                  "amount", "detail"]


class ContactDetailOut(ContactOut):
    attempts_made = AttemptOut(many=True, source="call_attempts", help_text="Every attempt, newest first.")

    class Meta(ContactOut.Meta):
        fields = [*CONTACT_FIELDS, "attempts_made"]


CONTACT_EXAMPLE = {
    "id": 901, "campaign": 2, "list": 4, "number": "+12125550142", "first_name": "Ann", "last_name": "Lee",
    "email": "ann@example.com", "state": "NY", "postal_code": "10001", "time_zone": "America/New_York",
    "fields": {"plan": "Gold"}, "status": "retry", "attempts": 1, "next_attempt_at": "2026-06-02T16:00:00Z",
    "last_outcome": "no_answer", "last_attempt_at": "2026-06-02T14:00:00Z", "disposition": None, "reason": "",
    "created": "2026-06-01T14:00:04Z", "updated": "2026-06-02T14:00:30Z"}


class ContactFilters(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, min_value=1)
    list = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    number = serializers.CharField(required=False, max_length=40, validators=[_no_nul],
                                   help_text="This number exactly, in any format.")
    q = serializers.CharField(required=False, max_length=100, validators=[_no_nul],
                              help_text="A name or email, or 3 digits or more of the number.")


def _contact_search(*, campaign: int | None = None, list: int | None = None, status: str = "",
                    number: str = "", q: str = "") -> QuerySet[Contact]:
    # The portal's search (campaigns.selectors.campaign_results) is per campaign; this one spans them.
    found = Contact.objects.select_related("disposition")
    if campaign:
        found = found.filter(campaign_id=campaign)
    if list:
        found = found.filter(list_id=list)
    if status:
        found = found.filter(status=status)
    if number:
        from tenants.phone import to_e164

        try:
            found = found.filter(number=to_e164(number))
        except ValidationError as exc:
            raise _invalid("number", exc.messages) from exc
    if q := q.strip():
        digits = "".join(ch for ch in q if ch.isdigit())
        match = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(email__icontains=q)
        if len(digits) >= 3:
            match |= Q(number__contains=digits)
        found = found.filter(match)
    return found


class Contacts(ApiListView):
    required_scopes = (Scope.CONTACTS_READ,)
    serializer_class = ContactOut

    @extend_schema(operation_id="contacts_list", tags=["contacts"], summary="Contacts, newest first",
                   parameters=[ContactFilters, *PAGE],
                   responses={200: ContactOut(many=True), **problems(400, 401, 403, 429)},
                   examples=[OpenApiExample("A page", value=CONTACT_EXAMPLE, response_only=True)])
    def get(self, request):
        filters = ContactFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = _contact_search(**filters.validated_data)
        return self.get_paginated_response(ContactOut(self.paginate_queryset(found), many=True).data)


class ContactDetail(ApiView):
    required_scopes = (Scope.CONTACTS_READ,)

    @extend_schema(operation_id="contacts_retrieve", tags=["contacts"], summary="One contact with its attempts",
                   responses={200: ContactDetailOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A contact", response_only=True, value={
                       **CONTACT_EXAMPLE, "attempts_made": [{
                           "id": 5012, "channel": "autodialed", "started_at": "2026-06-02T14:00:00Z",
                           "answered_at": None, "ended_at": "2026-06-02T14:00:25Z", "outcome": "no_answer",
                           "answered_by": "", "disposition": None, "amount": None, "detail": ""}]})])
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact.objects.select_related("disposition").prefetch_related(
            "call_attempts__disposition"), pk=pk)
        return Response(ContactDetailOut(contact).data)
