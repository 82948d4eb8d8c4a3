"""Calendars and appointments (tenant schema).

Working hours are stored as local wall-clock times with the calendar's IANA zone — never as
UTC — so a daylight-saving change moves nothing; the slot search (``calendars.slots``) turns
them into instants date by date. An appointment blocks ``blocked``: its time with its buffers
before and after. PostgreSQL's exclusion constraint refuses two overlapping blocked ranges on
one calendar among booked appointments and live holds, whatever the number of agents booking
at the same instant.

The calendar's part of that constraint is an overlap of one-point integer ranges
(``int8range(calendar_id, calendar_id, '[]') &&``), not ``calendar_id WITH =``: plain ``=``
under GiST needs the ``btree_gist`` extension, which must then live once in the public schema
(a client's migration would install it into that client's schema), and which the embedded
PostgreSQL of `make run` does not ship. Ranges have GiST operators built in: the same guarantee,
no extension anywhere.
"""

from __future__ import annotations

import secrets

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    BigIntegerRangeField,
    DateTimeRangeField,
    IntegerRangeField,
    RangeOperators,
)
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Coalesce

from tenants.phone import PhoneNumberField

SEATS = 32767  # "every seat": above any capacity (a small integer)


def feed_token() -> str:
    return secrets.token_urlsafe(24)


class Calendar(models.Model):
    """A resource appointments are booked with: a technician, a provider, a room."""

    class Kind(models.TextChoices):
        PERSON = "person", "A person (technician, provider, attorney)"
        ROOM = "room", "A room or a piece of equipment"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSON)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA zone; empty: the client's.")
    active = models.BooleanField(default=True)
    feed_token = models.CharField(max_length=64, default=feed_token, unique=True,
                                  help_text="The secret in the calendar's iCalendar feed URL; renew it to revoke.")
    busy_ics_url = models.URLField(blank=True, help_text="The client's own calendar (ICS) to import busy times from.")
    busy_checked_at = models.DateTimeField(null=True, blank=True, help_text="The last import's try.")
    busy_imported_at = models.DateTimeField(null=True, blank=True, help_text="The last import that worked.")
    busy_error = models.CharField(max_length=300, blank=True, help_text="Why the last import failed, for a person.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="calendar_name_unique")]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One interval of a weekday, in the calendar's local wall-clock time (``calendars.slots``
    walks local dates and converts each wall time, so daylight-saving changes move nothing)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday.")
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        # An end before its start crosses midnight (a night shift, 22:00–06:00); 23:59:59 is midnight.
        constraints = [models.CheckConstraint(condition=~Q(end=models.F("start")), name="working_hours_not_empty"),
                       models.CheckConstraint(condition=Q(weekday__lte=6), name="working_hours_weekday")]

    def __str__(self) -> str:
        return f"{self.calendar}: {self.weekday} {self.start:%H:%M}–{self.end:%H:%M}"


class CalendarException(models.Model):
    """A day (or part of one) that differs from the week: a holiday, time off, extra hours."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True, help_text="Empty: the whole day.")
    end = models.TimeField(null=True, blank=True)
    available = models.BooleanField(default=False, help_text="Extra hours (on) or time off (off).")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date", "start"]

    def __str__(self) -> str:
        return f"{self.calendar}: {self.date} {'extra' if self.available else 'off'}"


class AppointmentType(models.Model):
    """What can be booked: how long, the buffers around it, which calendars offer it, notice,
    horizon, the slot step, capacity (group sessions) and arrival windows (field service)."""

    name = models.CharField(max_length=200)
    duration_minutes = models.PositiveIntegerField(default=30)
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    step_minutes = models.PositiveIntegerField(default=30, help_text="Slots start every this many minutes.")
    min_notice_minutes = models.PositiveIntegerField(default=60, help_text="Not bookable sooner than this.")
    horizon_days = models.PositiveIntegerField(default=60, help_text="Not bookable further ahead than this.")
    capacity = models.PositiveSmallIntegerField(default=1, help_text="Bookings one slot takes (group sessions).")
    arrival_window_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Field service: the visit is promised within a window this long.")
    calendars = models.ManyToManyField(Calendar, related_name="types", blank=True)
    intake_fields = models.JSONField(default=list, blank=True,
                                     help_text="What a script step asks for it: [{name, label, type, required}].")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="appointment_type_name_unique"),
                       models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="appointment_type_duration")]

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    """A booking (or a hold while the caller decides) on one calendar.

    ``blocked`` is what the calendar cannot give anyone else: the appointment's time, its
    arrival window for field service, and its buffers. Held and booked rows are under the
    exclusion constraint; a hold past ``hold_expires_at`` is cleared by whoever books over it
    (and by the sweep), so it expires by itself.
    """

    class Status(models.TextChoices):
        HELD = "held", "Held while the caller decides"
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        RELEASED = "released", "Hold released"
        NO_SHOW = "no_show", "No-show"
        DONE = "done", "Done"

    BLOCKING = (Status.HELD, Status.BOOKED)

    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="appointments")
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    window_end = models.DateTimeField(null=True, blank=True, help_text="Field service: arrives by this time.")
    blocked = DateTimeRangeField(help_text="Start minus the buffer before, to end plus the buffer after.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    held_by = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=200, blank=True)
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    answers = models.JSONField(default=dict, blank=True, help_text="The intake fields, as the script took them.")
    call_sid = models.CharField(max_length=64, blank=True, help_text="The call it was booked on.")
    booked_by = models.CharField(max_length=200, blank=True)
    seat = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Group sessions: which seat (0 … capacity − 1); empty: the whole calendar.")
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="The person confirmed (replied C).")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            # No double booking, enforced by PostgreSQL: on one calendar, no two held or
            # booked rows whose blocked time (buffers included) overlaps.
            ExclusionConstraint(
                name="appointment_no_overlap",
                expressions=[(Func(F("calendar"), F("calendar"), Value("[]"), function="int8range",
                                   output_field=BigIntegerRangeField()), RangeOperators.OVERLAPS),
                             ("blocked", RangeOperators.OVERLAPS),
                             # A booking takes every seat; a group session's booking one seat. Two
                             # overlapping rows conflict unless both are seats, and different ones.
                             (Func(Coalesce(F("seat"), 0), Coalesce(F("seat") + 1, Value(SEATS)),
                                   function="int4range", output_field=IntegerRangeField()),
                              RangeOperators.OVERLAPS)],
                condition=Q(status="held") | Q(status="booked"),
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appointment_order"),
        ]
        indexes = [models.Index(fields=["calendar", "start"], name="appointment_calendar_start")]

    def __str__(self) -> str:
        return f"{self.type} with {self.calendar} at {self.start:%Y-%m-%d %H:%M}"


class AppointmentEvent(models.Model):
    """The appointment's history: held, booked, rescheduled (from, to), cancelled (why),
    confirmed, reminded … never rewritten."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20)
    by = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    WORDS = {"held": "Held", "released": "Hold released", "hold_expired": "Hold ran out", "booked": "Booked",
             "rescheduled": "Rescheduled", "cancelled": "Cancelled", "done": "Done", "no_show": "No-show",
             "confirmation_sent": "Confirmation sent", "reminder_sent": "Reminder sent",
             "notice_delivered": "Delivered", "notice_failed": "Not delivered", "notice_refused": "Refused by the gate",
             "notice_deferred": "Waiting for calling hours", "confirmed": "Confirmed",
             "reschedule_requested": "Asked to reschedule"}

    @property
    def label(self) -> str:
        """The kind in words, for the timeline."""
        return self.WORDS.get(self.kind, self.kind.replace("_", " ").capitalize())

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class BusyTime(models.Model):
    """Time the calendar is busy in the client's own calendar (imported from its ICS URL):
    recurring events expanded in their own zone. Replaced whole by each import that works."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="busy_times")
    start = models.DateTimeField()
    end = models.DateTimeField()
    uid = models.CharField(max_length=300, blank=True, help_text="The event's UID in the imported feed.")
    summary = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "start"]
        indexes = [models.Index(fields=["calendar", "start"], name="busy_calendar_start")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="busy_order")]

    def __str__(self) -> str:
        return f"{self.calendar} busy {self.start:%Y-%m-%d %H:%M}"


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    CALL = "call", "Phone call (spoken)"


class ReminderRule(models.Model):
    """A confirmation (when booked) or a reminder (so long before the start) the client sends."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation, when booked"
        REMINDER = "reminder", "Reminder, before the appointment"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REMINDER)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.SMS)
    minutes_before = models.PositiveIntegerField(default=24 * 60, help_text="Reminders: this long before the start.")
    types = models.ManyToManyField(AppointmentType, blank=True, related_name="reminder_rules",
                                   help_text="Empty: every type.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "-minutes_before"]

    def __str__(self) -> str:
        if self.kind == self.Kind.CONFIRMATION:
            return f"Confirmation by {self.get_channel_display().lower()}"
        return f"Reminder by {self.get_channel_display().lower()} {self.before_words}"

    @property
    def before_words(self) -> str:
        """"24 h before", "90 min before", "2 days before"."""
        minutes = self.minutes_before
        if minutes and minutes % (24 * 60) == 0 and minutes > 24 * 60:
            return f"{minutes // (24 * 60)} days before"
        if minutes and minutes % 60 == 0:
            return f"{minutes // 60} h before"
        return f"{minutes} min before"


class AppointmentNotice(models.Model):
    """One confirmation or reminder of one appointment: a row of the durable outbox, sent
    exactly once (claimed with a lease, asked of Twilio before a retry after a crash)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused by the compliance gate"
        CANCELLED = "cancelled", "Cancelled (the appointment moved or was cancelled)"

    FINAL = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.REFUSED, Status.CANCELLED)

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="notices")
    rule = models.ForeignKey(ReminderRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=ReminderRule.Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    address = models.CharField(max_length=254, help_text="The number or email it goes to.")
    for_start = models.DateTimeField(help_text="The appointment's start it speaks of (a reschedule queues new ones).")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    tries = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    body = models.TextField(blank=True, help_text="What was sent.")
    provider_sid = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=16, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["appointment", "kind", "channel", "for_start", "rule"],
                                               name="notice_once", nulls_distinct=False)]
        indexes = [models.Index(fields=["status", "due_at"], name="notice_status_due"),
                   models.Index(fields=["address", "status"], name="notice_address")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.appointment_id} ({self.status})"
