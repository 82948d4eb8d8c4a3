"""Appointments: calendars and their types, free slots, book, list, one (with its history),
reschedule, cancel — the calendar's own services (``calendars.services.booking``), so PostgreSQL's
exclusion constraint decides every race, and confirmations, reminders, the consent a number gives
and the ``appointment.*`` webhook events follow as for any booking.

Times go out as ISO 8601 instants with the offset of the calendar's zone (the wall time the
person is told); times coming in must carry an offset (an instant, as the slot search gave it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from answering.scripts.answers import field_clean
from api import etag
from api.errors import PROBLEM_JSON, Problem, problem_body
from api.models import Scope
from api.spend import spend_take
from api.views.base import ApiListView, ApiView
from api.views.schema import POLLED_PAGE_PARAMETERS, PROBLEMS, FieldError, problems
from calendars import selectors
from calendars.models import Appointment, AppointmentNotice, AppointmentType, Calendar, Channel
from calendars.services import booking
from portal.selectors import day_bounds
from tenants.phone import to_e164

S = Appointment.Status
# What the API calls appointments: holds (an agent's, while a caller decides) and released holds are not.
LISTED = (S.BOOKED, S.CANCELLED, S.DONE, S.NO_SHOW)
MAX_SLOTS = 50
MAX_ANSWER = 2000  # characters in one intake answer, as the portal's longest field
# Instants outside these years are refused as input: nothing is bookable there, and arithmetic
# near datetime's limits (a start plus its duration) would overflow.
YEARS = (1971, 2999)


def _zone(calendar: Calendar) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(selectors.calendar_zone(calendar))


def _local(value: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str | None:
    """An instant with the offset of ``zone`` (a repeated hour's second pass keeps its own offset)."""
    return value.astimezone(zone).isoformat() if value is not None else None


def _refused(field: str | None, message: str, *, status: int = 400, slug: str = "invalid",
             title: str = "The request's input is not valid") -> Problem:
    return Problem(status, slug, title, f"{field}: {message}" if field else message,
                   errors=[{"field": field, "message": message}])


class InstantField(serializers.DateTimeField):
    """An ISO 8601 instant with its offset (``2026-06-02T09:00:00-04:00`` or ``…Z``); a wall time
    without one is refused, since in a repeated hour it names two instants."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip()) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError("Not an ISO 8601 time, e.g. 2026-06-02T09:00:00-04:00.")
        if parsed.tzinfo is None:
            raise serializers.ValidationError("Give the offset too (e.g. -04:00 or Z): a time without one is "
                                              "ambiguous in a repeated hour.")
        try:
            instant = parsed.astimezone(dt.UTC)
        except OverflowError:
            instant = None
        if instant is None or not YEARS[0] <= instant.year <= YEARS[1]:
            raise serializers.ValidationError(f"Out of range: a time between {YEARS[0]} and {YEARS[1]}.")
        return instant


# --- Calendars and types ------------------------------------------------------------------

class TypeBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    arrival_window_minutes = serializers.IntegerField(allow_null=True, help_text="Field service: the promised "
                                                      "arrival window; null for an ordinary appointment.")


class CalendarOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Calendar.Kind.choices)
    time_zone = serializers.CharField(help_text="IANA zone its hours are in (the client's when it has none).")
    active = serializers.BooleanField()
    types = TypeBriefOut(many=True, help_text="The active appointment types it offers.")

    def to_representation(self, calendar: Calendar) -> dict:
        return {"id": calendar.pk, "name": calendar.name, "kind": calendar.kind,
                "time_zone": selectors.calendar_zone(calendar), "active": calendar.active,
                "types": [_type_brief(t) for t in calendar.types.all() if t.active]}


def _type_brief(type_: AppointmentType) -> dict:
    return {"id": type_.pk, "name": type_.name, "duration_minutes": type_.duration_minutes,
            "arrival_window_minutes": type_.arrival_window_minutes}


class IntakeFieldOut(serializers.Serializer):
    name = serializers.CharField(help_text="The key in a booking's answers.")
    label = serializers.CharField()
    type = serializers.CharField(help_text="text, long_text, address, number, date, yes_no, phone, email, choice …")
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.CharField(), help_text="A choice's options.")


def _intake(type_: AppointmentType) -> list[dict]:
    """The type's intake fields as the console asks them (answering.scripts.appointments)."""
    return [{"name": str(f.get("name", "")), "label": str(f.get("label") or f.get("name", "")),
             "type": str(f.get("type") or "text"), "required": bool(f.get("required")),
             "options": [str(o) for o in f.get("options") or []]}
            for f in type_.intake_fields or [] if isinstance(f, dict) and f.get("name")]


class TypeOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    arrival_window_minutes = serializers.IntegerField(allow_null=True)
    buffer_before_minutes = serializers.IntegerField()
    buffer_after_minutes = serializers.IntegerField()
    step_minutes = serializers.IntegerField()
    min_notice_minutes = serializers.IntegerField(help_text="Not bookable sooner than this.")
    horizon_days = serializers.IntegerField(help_text="Not bookable further ahead than this.")
    capacity = serializers.IntegerField(help_text="Bookings one slot takes (group sessions).")
    active = serializers.BooleanField()
    calendars = serializers.ListField(child=serializers.IntegerField(), help_text="The calendars offering it.")
    intake_fields = IntakeFieldOut(many=True, help_text="What a booking's answers hold.")

    def to_representation(self, type_: AppointmentType) -> dict:
        return {**_type_brief(type_), "buffer_before_minutes": type_.buffer_before_minutes,
                "buffer_after_minutes": type_.buffer_after_minutes, "step_minutes": type_.step_minutes,
                "min_notice_minutes": type_.min_notice_minutes, "horizon_days": type_.horizon_days,
                "capacity": type_.capacity, "active": type_.active,
                "calendars": sorted(c.pk for c in type_.calendars.all()), "intake_fields": _intake(type_)}


PAGE = [OpenApiParameter("limit", int, description="Page size, 1–200 (default 50)."),
        OpenApiParameter("cursor", str, description="From the previous page's next or previous link.")]
TYPE_EXAMPLE = {"id": 2, "name": "New patient", "duration_minutes": 45, "arrival_window_minutes": None,
                "buffer_before_minutes": 0, "buffer_after_minutes": 15, "step_minutes": 30, "min_notice_minutes": 120,
                "horizon_days": 60, "capacity": 1, "active": True, "calendars": [1, 2],
                "intake_fields": [{"name": "date_of_birth", "label": "Date of birth", "type": "date",
                                   "required": True, "options": []}]}


class CalendarList(ApiListView):
    required_scopes = (Scope.APPOINTMENTS_READ,)
    serializer_class = CalendarOut

    @extend_schema(operation_id="calendars_list", tags=["appointments"], summary="Calendars, with the types each offers",
                   parameters=PAGE, responses={200: CalendarOut(many=True), **problems(400, 401, 403, 429)},
                   examples=[OpenApiExample("A page", response_only=True, value={
                       "id": 1, "name": "Dr. Maria Lopez", "kind": "person", "time_zone": "America/New_York",
                       "active": True, "types": [{"id": 2, "name": "New patient", "duration_minutes": 45,
                                                  "arrival_window_minutes": None}]})])
    def get(self, request):
        page = self.paginate_queryset(Calendar.objects.prefetch_related("types"))
        return self.get_paginated_response(CalendarOut(page, many=True).data)


class TypeList(ApiListView):
    required_scopes = (Scope.APPOINTMENTS_READ,)
    serializer_class = TypeOut

    @extend_schema(operation_id="appointment_types_list", tags=["appointments"],
                   summary="Appointment types: durations, calendars, intake fields",
                   parameters=PAGE, responses={200: TypeOut(many=True), **problems(400, 401, 403, 429)},
                   examples=[OpenApiExample("A page", response_only=True, value=TYPE_EXAMPLE)])
    def get(self, request):
        page = self.paginate_queryset(AppointmentType.objects.prefetch_related("calendars"))
        return self.get_paginated_response(TypeOut(page, many=True).data)


# --- Free slots -------------------------------------------------------------------------------

class SlotOut(serializers.Serializer):
    calendar = serializers.IntegerField()
    calendar_name = serializers.CharField()
    time_zone = serializers.CharField(help_text="The calendar's zone: the offsets of the times are its.")
    start = serializers.DateTimeField(help_text="Book with exactly this value.")
    end = serializers.DateTimeField(help_text="The start plus the type's duration.")
    window_end = serializers.DateTimeField(allow_null=True, help_text="Field service: arrives by then; else null.")


def _slots_out(type_: AppointmentType, found: list) -> list[dict]:
    calendars = {c.pk: c for c in Calendar.objects.filter(pk__in={s.calendar_id for s in found})}
    duration = dt.timedelta(minutes=type_.duration_minutes)
    out = []
    for s in found:
        calendar = calendars[s.calendar_id]
        zone = _zone(calendar)
        out.append({"calendar": calendar.pk, "calendar_name": calendar.name, "time_zone": str(zone),
                    "start": _local(s.start, zone), "end": _local(s.start + duration, zone),
                    "window_end": _local(s.window_end, zone)})
    return out


class SlotFilters(serializers.Serializer):
    type = serializers.IntegerField(min_value=1, help_text="The appointment type's id.")
    calendar = serializers.IntegerField(required=False, min_value=1, help_text="Only this calendar's slots.")
    after = InstantField(required=False, help_text="Slots starting at or after this instant (default: now).")
    count = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_SLOTS)


def _bookable_type(pk: int) -> AppointmentType:
    type_ = AppointmentType.objects.filter(pk=pk).first()
    if type_ is None:
        raise _refused("type", "No such appointment type.")
    if not type_.active:
        raise _refused("type", f"“{type_.name}” is not booked any more.")
    return type_


def _offering_calendar(type_: AppointmentType, pk: int, field: str = "calendar") -> Calendar:
    # Only the type's own active calendars, in the host's schema: another client's id finds nothing.
    calendar = type_.calendars.filter(pk=pk, active=True).first()
    if calendar is None:
        raise _refused(field, f"No active calendar {pk} offers “{type_.name}”.")
    return calendar


SLOT_EXAMPLE = {"calendar": 1, "calendar_name": "Dr. Maria Lopez", "time_zone": "America/New_York",
                "start": "2026-06-02T09:00:00-04:00", "end": "2026-06-02T09:45:00-04:00", "window_end": None}


class SlotSearch(ApiView):
    required_scopes = (Scope.APPOINTMENTS_READ,)

    @extend_schema(
        operation_id="appointments_slots", tags=["appointments"], summary="The next free slots of a type",
        description="Soonest first, across the type's active calendars (or one), by the calendar's hours, "
                    "days off, notice, horizon and buffers, exact across daylight-saving changes. `after` is "
                    "inclusive: to see more, ask again with the last slot's `start` and skip those you have.",
        parameters=[SlotFilters], responses={200: SlotOut(many=True), **problems(400, 401, 403, 429)},
        examples=[OpenApiExample("Slots", response_only=True, value=[SLOT_EXAMPLE])])
    def get(self, request):
        filters = SlotFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        d = filters.validated_data
        type_ = _bookable_type(d["type"])
        calendars = [_offering_calendar(type_, d["calendar"])] if d.get("calendar") else None
        found = selectors.appointment_slots(type_, count=d["count"], after=d.get("after"), calendars=calendars)
        return Response(_slots_out(type_, found))


# --- Appointments: out ----------------------------------------------------------------------------

class EventOut(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="booked, rescheduled, cancelled, confirmation_sent, confirmed, …")
    label = serializers.CharField(help_text="The kind in words.")
    by = serializers.CharField()
    detail = serializers.CharField()
    data = serializers.JSONField(help_text="A reschedule's before and after, and the like.")


class AppointmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in LISTED])
    type = serializers.IntegerField()
    type_name = serializers.CharField()
    calendar = serializers.IntegerField()
    calendar_name = serializers.CharField()
    time_zone = serializers.CharField(help_text="The calendar's zone: the offsets of the times are its.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    window_end = serializers.DateTimeField(allow_null=True, help_text="Field service: arrives by then; else null.")
    name = serializers.CharField()
    phone = serializers.CharField(help_text="E.164; empty if none was given.")
    email = serializers.CharField()
    answers = serializers.JSONField(help_text="The intake answers, by field name.")
    booked_by = serializers.CharField()
    call_sid = serializers.CharField(help_text="The call it was booked on; empty if not on a call.")
    confirmed_at = serializers.DateTimeField(allow_null=True, help_text="When the person confirmed (replied C).")
    created = serializers.DateTimeField()

    def to_representation(self, a: Appointment) -> dict:
        zone = _zone(a.calendar)
        return {"id": a.pk, "status": a.status, "type": a.type_id, "type_name": a.type.name,
                "calendar": a.calendar_id, "calendar_name": a.calendar.name, "time_zone": str(zone),
                "start": _local(a.start, zone), "end": _local(a.end, zone), "window_end": _local(a.window_end, zone),
                "name": a.name, "phone": str(a.phone or ""), "email": a.email, "answers": a.answers or {},
                "booked_by": a.booked_by, "call_sid": a.call_sid, "confirmed_at": _local(a.confirmed_at, zone),
                "created": _local(a.created, zone)}


class AppointmentDetailOut(AppointmentOut):
    history = EventOut(many=True, help_text="Oldest first; never rewritten.")

    def to_representation(self, a: Appointment) -> dict:
        zone = _zone(a.calendar)
        return {**super().to_representation(a), "history": [
            {"at": _local(e.at, zone), "kind": e.kind, "label": e.label, "by": e.by, "detail": e.detail,
             "data": e.data or {}} for e in a.events.all()]}


APPOINTMENT_EXAMPLE = {
    "id": 31, "status": "booked", "type": 2, "type_name": "New patient", "calendar": 1,
    "calendar_name": "Dr. Maria Lopez", "time_zone": "America/New_York", "start": "2026-06-02T09:00:00-04:00",
    "end": "2026-06-02T09:45:00-04:00", "window_end": None, "name": "Rosa Diaz", "phone": "+13055551234",
    "email": "", "answers": {"date_of_birth": "1984-03-09"}, "booked_by": "API key sb_AbCd1234… (Practice software)",
    "call_sid": "", "confirmed_at": None, "created": "2026-05-28T14:03:11-04:00"}
DETAIL_EXAMPLE = {**APPOINTMENT_EXAMPLE, "history": [
    {"at": "2026-05-28T14:03:11-04:00", "kind": "booked", "label": "Booked", "by": APPOINTMENT_EXAMPLE["booked_by"],
     "detail": "New patient with Dr. Maria Lopez.", "data": {}}]}


def _appointment(pk: int) -> Appointment:
    """One appointment of this host's client with its history; 404 otherwise (holds included)."""
    return get_object_or_404(Appointment.objects.filter(status__in=LISTED).select_related("calendar", "type")
                             .prefetch_related("events"), pk=pk)


def _detail(pk: int) -> dict:
    return AppointmentDetailOut(_appointment(pk)).data


# --- Appointments: the list's filters and tag ---------------------------------------------------------------------------

class AppointmentFilters(serializers.Serializer):
    calendar = serializers.IntegerField(required=False, min_value=1)
    type = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=[s.value for s in LISTED], required=False)
    since = serializers.DateField(required=False, help_text="Starting on or after this day (the client's zone).")
    until = serializers.DateField(required=False, help_text="Starting on or before this day (the client's zone).")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": "The range ends before it starts."})
        return data


def _appointment_search(*, time_zone: str, calendar: int | None = None, type: int | None = None, status: str = "",
                        since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[Appointment]:
    """Appointments (not holds) by calendar, type, status and the local days they start on."""
    found = Appointment.objects.filter(status__in=[status] if status else LISTED)
    if calendar:
        found = found.filter(calendar_id=calendar)
    if type:
        found = found.filter(type_id=type)
    start, end = day_bounds(since=since, until=until, time_zone=time_zone)
    if start:
        found = found.filter(start__gte=start)
    if end:
        found = found.filter(start__lt=end)
    return found


def _list_etag(found: QuerySet[Appointment], request) -> str:
    """How many, the highest id, and how many history entries they have. Every change of an
    appointment adds an entry (the services write one with each), and entries are never removed, so
    any change moves the count; ``updated`` would not do (the services change rows with an UPDATE,
    which leaves it alone). One aggregate query."""
    facts = found.order_by().aggregate(n=Count("pk", distinct=True), last=Max("pk"), events=Count("events"))
    seed = f"{facts['n']}|{facts['last']}|{facts['events']}|{request.get_full_path()}"
    return 'W/"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


# --- Book, reschedule, cancel: input, refusals, spending -------------------------------------------------------------------

class SlotTakenProblem(serializers.Serializer):
    """RFC 9457 problem details; a taken slot's carries the next free ones."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    errors = FieldError(many=True, required=False)
    alternatives = SlotOut(many=True, required=False, help_text="slot-taken: the next free slots to offer instead.")


TAKEN = {(409, PROBLEM_JSON): OpenApiResponse(
    SlotTakenProblem, description="slot-taken: someone else got the slot first (alternatives: the next free "
                                  "ones); not-booked: only a booked appointment can change; or a request with "
                                  "this Idempotency-Key is still running")}
REFUSED = {(422, PROBLEM_JSON): OpenApiResponse(
    SlotTakenProblem, description="booking-refused: that time is not a slot of this type (outside the hours, "
                                  "too soon, too far); or Idempotency-Key reused with another request")}


def _taken(request, exc: booking.SlotTaken, type_: AppointmentType) -> Response:
    """409 “just taken”, with the next free slots; nothing was written."""
    body = problem_body(status_code=409, slug="slot-taken", title="Just taken", detail=str(exc),
                        instance=request.get_full_path(),
                        errors=[{"field": "start", "message": "Someone else got this slot first."}])
    body["alternatives"] = _slots_out(type_, exc.alternatives)
    return Response(body, status=409, content_type=PROBLEM_JSON)


def _book_refused(exc: booking.BookingRefused) -> Problem:
    return _refused("start", str(exc), status=422, slug="booking-refused", title="The booking was refused")


def _spend_notices(request, appointment: Appointment) -> None:
    """Take the texts and calls this change has queued (its confirmation and reminders by text or
    spoken call: ``notices_plan`` queued them in this transaction) from the client's hourly API
    allowance. Over the cap the caller's savepoint rolls back: nothing booked, nothing queued."""
    queued = (AppointmentNotice.objects.filter(appointment=appointment, status=AppointmentNotice.Status.QUEUED)
              .values("channel").annotate(n=Count("pk")))
    per_channel = {row["channel"]: row["n"] for row in queued}
    for channel, kind in ((Channel.SMS, "texts"), (Channel.CALL, "calls")):
        if per_channel.get(channel):
            spend_take(request.tenant, kind, n=per_channel[channel])


class BookIn(serializers.Serializer):
    type = serializers.IntegerField(min_value=1, help_text="The appointment type's id.")
    calendar = serializers.IntegerField(min_value=1, help_text="The slot's calendar.")
    start = InstantField(help_text="The slot's start, as the slot search gave it.")
    name = serializers.CharField(max_length=200, help_text="Whose appointment it is.")
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                  help_text="Any format (stored E.164): confirmations and reminders are texted to it.")
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    answers = serializers.DictField(required=False, default=dict, help_text="The type's intake fields, by name.")

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Whose appointment is it? Give the name.")
        return value.strip()

    def validate_phone(self, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return to_e164(value)
        except ValidationError as exc:
            raise serializers.ValidationError(" ".join(exc.messages)) from exc


def _answers_clean(type_: AppointmentType, raw: dict, *, time_zone: str) -> dict:
    """The type's intake answers cleaned as the console cleans them (phone → E.164, yes/no, dates …),
    required ones present; every problem named ``answers.<field>``."""
    errors: list[dict] = []
    specs = {spec["name"]: spec for spec in _intake(type_)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        # The name goes back in the answer, which is stored (Idempotency-Key): PostgreSQL's JSON takes no NUL.
        field = "answers." + name.replace("\x00", "\\u0000")
        if name not in specs:
            errors.append({"field": field, "message": f"“{type_.name}” asks no such question."})
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            errors.append({"field": field, "message": "A text, a number or true/false."})
        elif isinstance(value, str) and "\x00" in value:
            errors.append({"field": field, "message": "Holds a NUL character."})
        elif isinstance(value, str) and len(value) > MAX_ANSWER:
            errors.append({"field": field, "message": f"At most {MAX_ANSWER} characters."})
    if errors:
        raise Problem(400, "invalid", "The request's input is not valid",
                      "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    for name, spec in specs.items():
        try:
            value = field_clean(spec, raw.get(name), time_zone=time_zone)
        except ValidationError as exc:
            errors.append({"field": f"answers.{name}", "message": f"{spec['label']}: {' '.join(exc.messages)}"})
            continue
        if value is None:
            if spec["required"]:
                errors.append({"field": f"answers.{name}", "message": f"{spec['label']}: this answer is required."})
            continue
        values[name] = value
    if errors:
        raise Problem(400, "invalid", "The request's input is not valid",
                      "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    return values


# --- The operations on appointments ------------------------------------------------------------

class Appointments(ApiListView):
    # GET lists, POST books: one path, two operations, each with its own scopes.
    serializer_class = AppointmentOut

    @property
    def required_scopes(self) -> tuple[str, ...]:
        if self.request.method == "POST":
            return (Scope.APPOINTMENTS_READ, Scope.APPOINTMENTS_WRITE)
        return (Scope.APPOINTMENTS_READ,)

    @extend_schema(
        operation_id="appointments_list", tags=["appointments"], summary="Appointments, newest booked first",
        parameters=[AppointmentFilters, *POLLED_PAGE_PARAMETERS],
        responses={200: AppointmentOut(many=True), 304: None, **problems(400, 401, 403, 429)},
        examples=[OpenApiExample("A page", value=APPOINTMENT_EXAMPLE, response_only=True)])
    def get(self, request):
        filters = AppointmentFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = _appointment_search(time_zone=request.tenant.time_zone, **filters.validated_data)
        tag = _list_etag(found, request)
        if etag.matches(request, tag):
            return etag.not_modified(tag)  # no page query at all
        page = self.paginate_queryset(found.select_related("calendar", "type"))
        response = self.get_paginated_response(AppointmentOut(page, many=True).data)
        response["ETag"] = tag
        return response

    @extend_schema(
        operation_id="appointments_book", tags=["appointments"], summary="Book a slot",
        description="Books one of the slot search's times. If someone else got it first: 409 `slot-taken` with "
                    "the next free slots in `alternatives`, nothing written. The confirmation and reminders "
                    "follow as for any booking (and giving a number records the consent to texts about it); the "
                    "texts and calls they will make are taken from the hourly API spending cap first (429 "
                    "`spend-cap` over it, nothing booked). Emits `appointment.booked`.",
        request=BookIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: AppointmentDetailOut, **problems(400, 401, 403, 429), **TAKEN, **REFUSED,
                   **problems(503)},
        examples=[OpenApiExample("Book", request_only=True, value={
            "type": 2, "calendar": 1, "start": "2026-06-02T09:00:00-04:00", "name": "Rosa Diaz",
            "phone": "(305) 555-1234", "answers": {"date_of_birth": "1984-03-09"}}),
            OpenApiExample("Booked", response_only=True, status_codes=["201"], value=DETAIL_EXAMPLE)])
    def post(self, request):
        data = BookIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        type_ = _bookable_type(d["type"])
        calendar = _offering_calendar(type_, d["calendar"])
        answers = _answers_clean(type_, d["answers"], time_zone=request.tenant.time_zone)
        try:
            with transaction.atomic():  # a savepoint: over the spending cap, the booking goes with it
                appointment = booking.appointment_book(
                    type_=type_, calendar=calendar, start=d["start"], by=request.user.label, name=d["name"],
                    phone=d["phone"], email=d["email"], answers=answers)
                _spend_notices(request, appointment)
        except booking.SlotTaken as exc:
            return _taken(request, exc, type_)
        except booking.BookingRefused as exc:
            raise _book_refused(exc) from exc
        return Response(_detail(appointment.pk), status=201,
                        headers={"Location": f"/api/v1/appointments/{appointment.pk}"})


class AppointmentDetail(ApiView):
    required_scopes = (Scope.APPOINTMENTS_READ,)

    @extend_schema(operation_id="appointments_retrieve", tags=["appointments"],
                   summary="One appointment, with its history",
                   responses={200: AppointmentDetailOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("An appointment", value=DETAIL_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        return Response(_detail(pk))


class RescheduleIn(serializers.Serializer):
    start = InstantField(help_text="The new start, as the slot search gave it.")
    calendar = serializers.IntegerField(required=False, min_value=1,
                                        help_text="Another calendar offering the type; default: the same one.")
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True,
                                   help_text="Kept in the history.")


def _booked(appointment: Appointment, verb: str) -> None:
    if appointment.status != S.BOOKED:
        raise Problem(409, "not-booked", "Not a booked appointment",
                      f"Only a booked appointment can be {verb}; this one is {appointment.get_status_display().lower()}.")


class AppointmentReschedule(ApiView):
    required_scopes = (Scope.APPOINTMENTS_READ, Scope.APPOINTMENTS_WRITE)

    @extend_schema(
        operation_id="appointments_reschedule", tags=["appointments"], summary="Move an appointment",
        description="To another free slot of its type (and calendar, if given); the history keeps where it was. "
                    "Its reminders are planned again for the new time (taken from the spending cap like a "
                    "booking's). 409 `slot-taken` with alternatives if the new time went to someone else; "
                    "409 `not-booked` if it is cancelled or over. Emits `appointment.rescheduled`.",
        request=RescheduleIn, parameters=[PROBLEMS["idempotency"]],
        responses={200: AppointmentDetailOut, **problems(400, 401, 403, 404, 429), **TAKEN, **REFUSED,
                   **problems(503)},
        examples=[OpenApiExample("Move", request_only=True, value={
            "start": "2026-06-03T10:00:00-04:00", "reason": "Asked by the patient"})])
    def post(self, request, pk: int):
        appointment = _appointment(pk)
        data = RescheduleIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        _booked(appointment, "moved")
        calendar = _offering_calendar(appointment.type, d["calendar"]) if d.get("calendar") else None
        try:
            with transaction.atomic():  # a savepoint, as for a booking
                booking.appointment_reschedule(appointment=appointment, start=d["start"], calendar=calendar,
                                               by=request.user.label, reason=d["reason"])
                _spend_notices(request, appointment)
        except booking.SlotTaken as exc:
            return _taken(request, exc, appointment.type)
        except booking.BookingRefused as exc:
            raise _book_refused(exc) from exc
        return Response(_detail(appointment.pk))


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why: kept in the history.",
                                   error_messages={"required": "Say why it is cancelled: it is kept in the history.",
                                                   "blank": "Say why it is cancelled: it is kept in the history."})


class CancelOut(serializers.Serializer):
    cancelled_now = serializers.BooleanField(help_text="True for the first cancellation only.")
    appointment = AppointmentDetailOut()


class AppointmentCancel(ApiView):
    required_scopes = (Scope.APPOINTMENTS_READ, Scope.APPOINTMENTS_WRITE)

    @extend_schema(
        operation_id="appointments_cancel", tags=["appointments"], summary="Cancel an appointment",
        description="With a reason (kept in the history); the time is free again at once and its pending "
                    "reminders are cancelled. Exactly once: cancelling a cancelled appointment changes nothing "
                    "and answers `cancelled_now: false`; 409 `not-booked` for one that is over. "
                    "Emits `appointment.cancelled`.",
        request=CancelIn, parameters=[PROBLEMS["idempotency"]],
        responses={200: CancelOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Cancel", request_only=True, value={"reason": "The patient is travelling"})])
    def post(self, request, pk: int):
        appointment = _appointment(pk)
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        # The row locked until the answer commits: of two cancellations at once, exactly one says it did it.
        appointment = Appointment.objects.select_for_update().select_related("calendar", "type").get(pk=appointment.pk)
        if appointment.status == S.CANCELLED:
            return Response({"cancelled_now": False, "appointment": _detail(pk)})
        _booked(appointment, "cancelled")
        booking.appointment_cancel(appointment=appointment, by=request.user.label, reason=data.validated_data["reason"])
        return Response({"cancelled_now": True, "appointment": _detail(pk)})
