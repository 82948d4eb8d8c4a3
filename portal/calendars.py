"""The client portal's calendars (under ``schedule/``; ``calendars/`` is the feed's): the list
with the appointment types and reminder rules, each calendar's day and week views (live: a
booking by an agent appears without a reload), booking, an appointment's page (reschedule,
cancel, done / no-show), and the editors of working hours, exceptions, types and rules.

Thin, like the portal's other pages: forms parse (portal/calendar_forms.py), ``calendars.selectors``
reads, ``calendars.services`` change. Access as everywhere in the portal (``portal.access``):
the host's own people read every page, book, move and cancel (the client's staff take bookings
too); changing the set-up (hours, exceptions, types, rules, the feed's secret) is for the
client's admins. Everything is looked up in the host's schema, so another client's ids are
simply not found (404).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from answering.messages.display import time_text
from calendars import selectors
from calendars.models import Appointment, AppointmentType, Calendar, CalendarException, ReminderRule
from calendars.services import booking, setup
from portal import calendar_forms as cf
from portal.access import admin_only, is_client_admin, portal_page
from portal.forms import FIRST_DAY, LAST_DAY

SLOTS_OFFERED = 12
WHEN = "D j M, H:i T"


def _by(request: HttpRequest) -> str:
    user = request.user
    return f"{user.full_name} <{user.email}>" if user.full_name else user.email


def _calendar(pk: int) -> Calendar:
    # Looked up in the host's schema: another client's calendar id is not found here.
    return get_object_or_404(Calendar, pk=pk)


def _text(message: str, status: int = 400) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _zone(calendar: Calendar) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(selectors.calendar_zone(calendar))


def feed_url(request: HttpRequest, calendar: Calendar) -> str:
    """The calendar's iCalendar feed, absolute (to paste into a calendar app)."""
    try:
        path = reverse("calendars:feed", args=[calendar.feed_token])
    except NoReverseMatch:  # the feed's URLconf not mounted (calendars/urls.py): the path it will have
        path = f"/calendars/feed/{calendar.feed_token}.ics"
    return request.build_absolute_uri(path)


# --- Dates in the address: ?date=2026-12-07&view=week ----------------------------------------

def _day(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> dt.date | HttpResponse:
    raw = request.GET.get("date", "")
    if not raw:
        return timezone.now().astimezone(zone).date()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return _text(f"Choose another date: “{raw[:40]}” is not a date (YYYY-MM-DD).")
    if not FIRST_DAY <= day <= LAST_DAY:
        return _text(f"Choose another date: between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
    return day


def _columns_context(calendars: list[Calendar], first: dt.date, days: int) -> dict:
    columns = selectors.calendar_days(calendars, first, days)
    for calendar in calendars:
        today = timezone.now().astimezone(_zone(calendar)).date()
        for column in columns[calendar.pk]:
            column.is_today = column.date == today
    return {"columns": columns, "calendar_ids": ",".join(str(c.pk) for c in calendars)}


# --- The list: calendars, types, reminder rules -------------------------------------------------

@portal_page
def calendar_list(request: HttpRequest) -> HttpResponse:
    calendars = list(Calendar.objects.all())
    zone = zoneinfo.ZoneInfo(request.host_client.time_zone)
    today = timezone.now().astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    counts = selectors.calendar_week_counts(calendars, monday)
    for c in calendars:
        c.week_count = counts.get(c.pk, 0)
        c.zone_name = selectors.calendar_zone(c)
    form = cf.CalendarForm(request.POST or None)
    if request.method == "POST":
        admin_only(request)
        if form.is_valid():
            try:
                calendar = setup.calendar_save(calendar=None, **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, f"{calendar} added: give it its working hours.")
                return redirect("portal:calendar_hours", pk=calendar.pk)
    return render(request, "portal/calendars.html", {
        "calendars": calendars, "types": AppointmentType.objects.prefetch_related("calendars"),
        "rules": ReminderRule.objects.prefetch_related("types"), "form": form, "active": "calendars",
        "is_admin": is_client_admin(request), "monday": monday})


# --- Day and week views ----------------------------------------------------------------------

@portal_page
def calendar_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One calendar's week (Monday first) or day, in its own zone; ``?partial=1`` is the grid
    alone, which static/portal/calendar.js fetches again when an appointment on it changes."""
    calendar = _calendar(pk)
    zone = _zone(calendar)
    view = request.GET.get("view", "week")
    if view not in ("week", "day"):
        return _text("Choose the view: week or day.")
    day = _day(request, zone)
    if isinstance(day, HttpResponse):
        return day
    first, days = (day - dt.timedelta(days=day.weekday()), 7) if view == "week" else (day, 1)
    step = dt.timedelta(days=days)
    if not FIRST_DAY + step <= first <= LAST_DAY - step:
        return _text("Choose another date: that is too far off.")
    context = {"calendar": calendar, "view": view, "first": first, "last": first + step - dt.timedelta(days=1),
               "prev": first - step, "next": first + step, "zone": str(zone), "active": "calendars",
               "is_admin": is_client_admin(request), "types": calendar.types.filter(active=True),
               **_columns_context([calendar], first, days)}
    context["days"] = context["columns"][calendar.pk]
    if request.GET.get("partial") == "1":
        return render(request, "portal/_calendar_grid.html", context)
    context["feed_url"] = feed_url(request, calendar)
    return render(request, "portal/calendar.html", context)


@portal_page
def calendar_all_day(request: HttpRequest) -> HttpResponse:
    """Every active calendar's day, side by side (each in its own zone)."""
    calendars = list(Calendar.objects.filter(active=True))
    day = _day(request, zoneinfo.ZoneInfo(request.host_client.time_zone))
    if isinstance(day, HttpResponse):
        return day
    if not FIRST_DAY < day < LAST_DAY:
        return _text("Choose another date: that is too far off.")
    context = {"view": "all", "first": day, "prev": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
               "active": "calendars", **_columns_context(calendars, day, 1)}
    context["days"] = [context["columns"][c.pk][0] for c in calendars]
    if request.GET.get("partial") == "1":
        return render(request, "portal/_calendar_grid.html", context)
    return render(request, "portal/calendar_day.html", context)


# --- Booking ----------------------------------------------------------------------------------

def _offered(type_: AppointmentType, slots: list, calendars: dict[int, Calendar]) -> list[dict]:
    """Slots as the pages offer them: value, local time in the calendar's zone, calendar."""
    out = []
    for s in slots:
        calendar = calendars.get(s.calendar_id)
        if calendar is None:
            continue
        zone = _zone(calendar)
        text = time_text(s.start, zone, WHEN)
        if s.window_end:
            text += f"–{s.window_end.astimezone(zone):%H:%M} (arrival window)"
        out.append({"value": cf.slot_value(s.calendar_id, s.start), "text": text, "calendar": calendar})
    return out


def _slots(type_: AppointmentType, *, after: dt.datetime | None = None, found: list | None = None) -> list[dict]:
    calendars = {c.pk: c for c in type_.calendars.all()}
    found = found if found is not None else selectors.appointment_slots(type_, count=SLOTS_OFFERED, after=after)
    return _offered(type_, found, calendars)


def _slot_calendar(type_: AppointmentType, calendar_id: int) -> Calendar | None:
    # Only the type's own calendars, in the host's schema: a tampered value finds nothing.
    return type_.calendars.filter(pk=calendar_id, active=True).first()


@portal_page
def appointment_new(request: HttpRequest) -> HttpResponse:
    """Pick a type, then one of its next free times, then who it is for (and the type's intake
    fields). A time taken meanwhile: "Just taken — here are the next free slots"."""
    types = AppointmentType.objects.filter(active=True)
    type_ = None
    if request.GET.get("type") or request.POST.get("type"):
        try:
            type_ = types.get(pk=int(request.POST.get("type") or request.GET.get("type")))
        except (ValueError, AppointmentType.DoesNotExist):
            raise Http404("No such appointment type here.") from None
    context = {"types": types, "type": type_, "active": "calendars", "problem": ""}
    if type_ is None:
        return render(request, "portal/calendar_book.html", context)
    form = cf.BookForm(request.POST or None, type_=type_, initial={"slot": request.GET.get("slot", "")})
    offered = None
    if request.method == "POST" and form.is_valid():
        calendar_id, start = form.cleaned_data["slot"]
        calendar = _slot_calendar(type_, calendar_id)
        if calendar is None:
            form.add_error("slot", "Choose one of the times offered.")
        else:
            try:
                appointment = booking.appointment_book(
                    type_=type_, calendar=calendar, start=start, by=_by(request), name=form.cleaned_data["name"],
                    phone=form.cleaned_data["phone"], email=form.cleaned_data["email"], answers=form.answers())
            except booking.SlotTaken as taken:
                context["problem"] = str(taken)
                offered = _slots(type_, found=taken.alternatives) + [
                    s for s in _slots(type_, after=start) if s["value"] not in
                    {cf.slot_value(a.calendar_id, a.start) for a in taken.alternatives}]
                offered = offered[:SLOTS_OFFERED]
            except booking.BookingRefused as refused:
                context["problem"] = str(refused)
            else:
                flash.success(request, f"Booked: {appointment.name or 'the appointment'}, "
                                       f"{time_text(appointment.start, _zone(calendar), WHEN)} with {calendar}.")
                return redirect("portal:appointment", pk=appointment.pk)
    context.update(form=form, slots=offered if offered is not None else _slots(type_),
                   chosen=request.POST.get("slot") if offered is None else "")
    return render(request, "portal/calendar_book.html", context)


# --- One appointment --------------------------------------------------------------------------

def _appointment(pk: int) -> Appointment:
    try:
        return selectors.appointment_with_history(pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment here.") from None


def _appointment_page(request: HttpRequest, appointment: Appointment, *, cancel_form=None, problem: str = "",
                      status: int = 200) -> HttpResponse:
    zone = _zone(appointment.calendar)
    answers = [(f.get("label") or f.get("name"), appointment.answers.get(f.get("name")))
               for f in appointment.type.intake_fields or [] if f.get("name") in (appointment.answers or {})]
    known = {f.get("name") for f in appointment.type.intake_fields or []}
    answers += [(name.replace("_", " ").capitalize(), value) for name, value in (appointment.answers or {}).items()
                if name not in known]
    return render(request, "portal/calendar_appointment.html", {
        "appointment": appointment, "zone": str(zone), "answers": answers,
        "when": time_text(appointment.start, zone, "l j F Y, H:i T"),
        "ends": time_text(appointment.window_end or appointment.end, zone, "H:i"),
        "events": [(time_text(e.at, zone, WHEN), e) for e in appointment.events.all()],
        "notices": [(time_text(n.due_at, zone, WHEN), n) for n in appointment.notices.all()],
        "cancel_form": cancel_form or cf.CancelForm(), "problem": problem, "active": "calendars",
        "may_mark": appointment.status in (Appointment.Status.BOOKED, Appointment.Status.DONE,
                                           Appointment.Status.NO_SHOW) and appointment.start <= timezone.now(),
    }, status=status)


@portal_page
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _appointment_page(request, _appointment(pk))


@portal_page
@require_POST
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(pk)
    form = cf.CancelForm(request.POST)
    if not form.is_valid():
        return _appointment_page(request, appointment, cancel_form=form, status=400)
    try:
        booking.appointment_cancel(appointment=appointment, by=_by(request), reason=form.cleaned_data["reason"])
    except booking.BookingRefused as refused:
        return _appointment_page(request, appointment, cancel_form=form, problem=str(refused), status=400)
    flash.success(request, "Cancelled: the time is free again.")
    return redirect("portal:appointment", pk=appointment.pk)


@portal_page
@require_POST
def appointment_mark(request: HttpRequest, pk: int, status: str) -> HttpResponse:
    appointment = _appointment(pk)
    try:
        booking.appointment_mark(appointment=appointment, status=status, by=_by(request))
    except booking.BookingRefused as refused:
        flash.error(request, str(refused))
    else:
        flash.success(request, f"Marked {appointment.get_status_display().lower()}.")
    return redirect("portal:appointment", pk=appointment.pk)


@portal_page
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """A new time of the same type (any of its calendars), with a reason kept in the history."""
    appointment = _appointment(pk)
    if appointment.status != Appointment.Status.BOOKED:
        flash.error(request, "Only a booked appointment can be moved.")
        return redirect("portal:appointment", pk=appointment.pk)
    type_ = appointment.type
    form = cf.RescheduleForm(request.POST or None)
    problem, offered = "", None
    if request.method == "POST" and form.is_valid():
        calendar_id, start = form.cleaned_data["slot"]
        calendar = _slot_calendar(type_, calendar_id)
        if calendar is None:
            form.add_error("slot", "Choose one of the times offered.")
        else:
            try:
                booking.appointment_reschedule(appointment=appointment, start=start, calendar=calendar,
                                               by=_by(request), reason=form.cleaned_data["reason"])
            except booking.SlotTaken as taken:
                problem = str(taken)
                offered = _slots(type_, found=taken.alternatives)
            except booking.BookingRefused as refused:
                problem = str(refused)
            else:
                flash.success(request, f"Moved to {time_text(start, _zone(calendar), WHEN)} with {calendar}.")
                return redirect("portal:appointment", pk=appointment.pk)
    if offered is None:
        offered = _slots(type_)
    return render(request, "portal/calendar_reschedule.html", {
        "appointment": appointment, "form": form, "slots": offered, "problem": problem, "active": "calendars",
        "when": time_text(appointment.start, _zone(appointment.calendar), WHEN)})


# --- Editors: hours and exceptions, the calendar itself, the feed's secret ----------------------

def _add_errors(form, exc: ValidationError) -> None:
    """Service errors onto the form: by field when the form has it, else at the top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _hours_initial(calendar: Calendar) -> list[dict]:
    return [{"weekday": h.weekday, "start": h.start, "end": dt.time(0) if h.end >= dt.time(23, 59, 59) else h.end}
            for h in calendar.hours.all()]


def _hours_page(request, calendar, *, formset=None, exception_form=None, calendar_form=None, problems=(),
                status: int = 200) -> HttpResponse:
    return render(request, "portal/calendar_hours.html", {
        "calendar": calendar, "formset": formset or cf.HoursFormSet(initial=_hours_initial(calendar), prefix="hours"),
        "exception_form": exception_form or cf.ExceptionForm(prefix="exception"),
        "calendar_form": calendar_form or cf.CalendarForm(prefix="calendar", initial={
            "name": calendar.name, "kind": calendar.kind, "time_zone": calendar.time_zone,
            "busy_ics_url": calendar.busy_ics_url, "active": calendar.active}),
        "hours": calendar.hours.all(), "weekdays": setup.WEEKDAYS, "problems": problems,
        "exceptions": calendar.exceptions.filter(date__gte=timezone.now().astimezone(_zone(calendar)).date()),
        "zone": selectors.calendar_zone(calendar), "active": "calendars", "is_admin": is_client_admin(request)},
        status=status)


@portal_page
def calendar_hours(request: HttpRequest, pk: int) -> HttpResponse:
    """The week's working hours (several intervals a day, local times, night shifts), replaced
    whole or not at all."""
    calendar = _calendar(pk)
    if request.method != "POST":
        return _hours_page(request, calendar)
    admin_only(request)
    formset = cf.HoursFormSet(request.POST, prefix="hours")
    formset.is_valid()
    # The rows that parse are checked together (overlaps) even when others do not: every
    # problem is named at once.
    rows = [(form, form.interval()) for form in formset.forms if form.is_valid()]
    rows = [(form, interval) for form, interval in rows if interval is not None]
    for index, message in setup.hours_problems([i for _, i in rows]).items():
        rows[index][0].add_error("start", message)
    if formset.is_valid():
        try:
            setup.working_hours_replace(calendar=calendar, intervals=[i for _, i in rows])
        except ValidationError as exc:
            formset.forms[0].add_error(None, exc.messages)
        else:
            flash.success(request, f"Working hours of {calendar} saved.")
            return redirect("portal:calendar_hours", pk=calendar.pk)
    return _hours_page(request, calendar, formset=formset, problems=_formset_problems(formset, "Row"), status=400)


def _errors_text(form) -> list[str]:
    """Each error of ``form`` with the label of its field: "From: Enter a valid time." """
    return [f"{form.fields[name].label or pretty_name(name)}: {message}" if name in form.fields else message
            for name, messages in form.errors.items() for message in messages]


def _formset_problems(formset, what: str) -> list[str]:
    """Every error of a formset, naming the row and the field: a refusal never looks like nothing."""
    problems = list(formset.non_form_errors())
    for i, form in enumerate(formset.forms, 1):
        problems.extend(f"{what} {i}: {text}" for text in _errors_text(form))
    return problems


@portal_page
@require_POST
def calendar_settings(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    calendar = _calendar(pk)
    form = cf.CalendarForm(request.POST, prefix="calendar")
    if form.is_valid():
        try:
            setup.calendar_save(calendar=calendar, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            flash.success(request, f"{calendar} saved.")
            return redirect("portal:calendar_hours", pk=calendar.pk)
    calendar.refresh_from_db()
    return _hours_page(request, calendar, calendar_form=form, status=400)


@portal_page
@require_POST
def exception_add(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    calendar = _calendar(pk)
    form = cf.ExceptionForm(request.POST, prefix="exception")
    if form.is_valid():
        data = form.cleaned_data
        try:
            setup.exception_add(calendar=calendar, date=data["date"], start=data["start"], end=data["end"],
                                available=data["available"], reason=data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            flash.success(request, f"{'Extra hours' if data['available'] else 'Time off'} on {data['date']:%a %-d %b %Y} "
                                   "saved.")
            return redirect("portal:calendar_hours", pk=calendar.pk)
    return _hours_page(request, calendar, exception_form=form, status=400)


@portal_page
@require_POST
def exception_delete(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    exception = get_object_or_404(CalendarException, pk=pk)
    setup.exception_delete(exception=exception)
    flash.success(request, "Exception removed.")
    return redirect("portal:calendar_hours", pk=exception.calendar_id)


@portal_page
@require_POST
def feed_renew(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret in the feed's URL: the old link stops working at once."""
    admin_only(request)
    calendar = _calendar(pk)
    from calendars.services import feeds

    feeds.feed_token_renew(calendar=calendar, by=_by(request))
    flash.success(request, "The feed has a new address; the old one no longer works. Subscribe again with the new one.")
    return redirect("portal:calendar", pk=calendar.pk)


# --- Editors: appointment types and reminder rules ---------------------------------------------

@portal_page
def type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    type_ = get_object_or_404(AppointmentType, pk=pk) if pk else None
    if type_ is None:
        admin_only(request)
    names = ("name", "duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "step_minutes",
             "min_notice_minutes", "horizon_days", "capacity", "arrival_window_minutes", "active")
    initial = {**{n: getattr(type_, n) for n in names}, "calendars": list(type_.calendars.all())} if type_ else None
    form = cf.TypeForm(request.POST or None, initial=initial)
    intake = cf.IntakeFormSet(request.POST or None, prefix="intake",
                              initial=(type_.intake_fields or []) if type_ else [])
    problems: list[str] = []
    if request.method == "POST":
        admin_only(request)
        if form.is_valid() and intake.is_valid():
            rows = [(f, f.field()) for f in intake.forms]
            rows = [(f, field) for f, field in rows if field is not None]
            data = form.cleaned_data
            try:
                saved = setup.appointment_type_save(
                    type_=type_, calendars=list(data["calendars"]), intake_fields=[field for _, field in rows],
                    **{n: data[n] for n in names})
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    if name.startswith("intake-"):
                        _, index, field = name.split("-", 2)
                        rows[int(index)][0].add_error(field, messages)
                    else:
                        form.add_error(name if name in form.fields else None, messages)
            else:
                flash.success(request, f"Appointment type “{saved}” saved.")
                return redirect("portal:calendars")
        problems = _errors_text(form) + _formset_problems(intake, "Intake field")
    response = render(request, "portal/calendar_type.html", {
        "type": type_, "form": form, "intake": intake, "problems": problems, "active": "calendars"})
    if problems:
        response.status_code = 400
    return response


@portal_page
@require_POST
def type_delete(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    type_ = get_object_or_404(AppointmentType, pk=pk)
    try:
        setup.appointment_type_delete(type_=type_)
    except ValidationError as exc:
        flash.error(request, exc.messages[0])
    else:
        flash.success(request, f"Appointment type “{type_.name}” deleted.")
    return redirect("portal:calendars")


@portal_page
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(ReminderRule, pk=pk) if pk else None
    if rule is None:
        admin_only(request)
    initial = {"kind": rule.kind, "channel": rule.channel, "minutes_before": rule.minutes_before,
               "types": list(rule.types.all()), "active": rule.active} if rule else {"minutes_before": 24 * 60}
    form = cf.RuleForm(request.POST or None, initial=initial)
    if request.method == "POST":
        admin_only(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = setup.reminder_rule_save(rule=rule, kind=data["kind"], channel=data["channel"],
                                                 minutes_before=data["minutes_before"] or 0,
                                                 types=list(data["types"]), active=data["active"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, f"{saved} saved.")
                return redirect("portal:calendars")
    response = render(request, "portal/calendar_rule.html", {"rule": rule, "form": form, "active": "calendars"})
    if form.errors:
        response.status_code = 400
    return response


@portal_page
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    rule = get_object_or_404(ReminderRule, pk=pk)
    setup.reminder_rule_delete(rule=rule)
    flash.success(request, f"{rule} deleted.")
    return redirect("portal:calendars")
