"""Forms of the portal's calendar pages (portal/calendars.py). They parse; the services of
``calendars.services`` decide what is allowed."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from calendars.models import AppointmentType, Calendar, Channel, ReminderRule
from calendars.services.setup import INTAKE_KINDS, WEEKDAYS, Interval
from portal.forms import day_field
from tenants.phone import to_e164

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
MINUTES = [MinValueValidator(0), MaxValueValidator(60 * 24 * 366)]


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Calendar.Kind.choices)
    time_zone = forms.CharField(max_length=64, required=False, label="Time zone",
                                help_text="IANA name, e.g. America/New_York; empty: your organisation's.")
    busy_ics_url = forms.URLField(required=False, label="Busy times from (ICS URL)", assume_scheme="https",
                                  help_text="Your own calendar's address: its events are kept free of bookings.")
    active = forms.BooleanField(required=False, initial=True, label="Bookable")


class HoursRowForm(forms.Form):
    weekday = forms.TypedChoiceField(choices=[("", "—"), *enumerate(WEEKDAYS)], coerce=int, required=False,
                                     empty_value=None, label="Day")
    start = forms.TimeField(required=False, widget=TIME, label="From")
    end = forms.TimeField(required=False, widget=TIME, label="To",
                          help_text="Before the start: runs past midnight (a night shift). 00:00: midnight.")
    delete = forms.BooleanField(required=False, label="Remove")

    def clean(self):
        data = super().clean()
        if data.get("delete") or self.errors:
            return data
        given = [data.get(f) is not None for f in ("weekday", "start", "end")]
        if any(given) and not all(given):
            for name, there in zip(("weekday", "start", "end"), given):
                if not there:
                    self.add_error(name, "Needed: a day, a start and an end (or leave the row empty).")
        return data

    def interval(self) -> Interval | None:
        data = self.cleaned_data
        if data.get("delete") or data.get("weekday") is None or data.get("start") is None or data.get("end") is None:
            return None
        return Interval(data["weekday"], data["start"], data["end"])


HoursFormSet = forms.formset_factory(HoursRowForm, extra=3, max_num=70, validate_max=True)


class ExceptionForm(forms.Form):
    date = day_field("Date", required=True)
    available = forms.TypedChoiceField(choices=[("0", "Off (holiday, time off)"), ("1", "Extra hours")],
                                       coerce=lambda v: v == "1", label="What")
    start = forms.TimeField(required=False, widget=TIME, label="From", help_text="Empty: the whole day.")
    end = forms.TimeField(required=False, widget=TIME, label="To")
    reason = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if not self.errors and (data.get("start") is None) != (data.get("end") is None):
            self.add_error("end" if data.get("start") else "start", "Give both times, or neither for the whole day.")
        return data


class TypeForm(forms.Form):
    name = forms.CharField(max_length=200)
    duration_minutes = forms.IntegerField(label="Duration (min)", min_value=1, max_value=24 * 60)
    buffer_before_minutes = forms.IntegerField(label="Buffer before (min)", min_value=0, max_value=24 * 60, initial=0)
    buffer_after_minutes = forms.IntegerField(label="Buffer after (min)", min_value=0, max_value=24 * 60, initial=0)
    step_minutes = forms.IntegerField(label="Slots every (min)", min_value=1, max_value=24 * 60, initial=30)
    min_notice_minutes = forms.IntegerField(label="Notice (min)", min_value=0, max_value=60 * 24 * 365, initial=60,
                                            help_text="Not bookable sooner than this.")
    horizon_days = forms.IntegerField(label="Bookable ahead (days)", min_value=1, max_value=730, initial=60)
    capacity = forms.IntegerField(min_value=1, max_value=500, initial=1, help_text="Bookings one slot takes.")
    arrival_window_minutes = forms.IntegerField(label="Arrival window (min)", required=False, min_value=1,
                                                max_value=24 * 60, help_text="Field service: “arrives between 8 and 10”.")
    calendars = forms.ModelMultipleChoiceField(queryset=Calendar.objects.none(), required=False,
                                               widget=forms.CheckboxSelectMultiple, label="Offered by")
    active = forms.BooleanField(required=False, initial=True, label="Bookable")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the host's schema: another client's calendars are not choices.
        self.fields["calendars"].queryset = Calendar.objects.all()


class IntakeRowForm(forms.Form):
    name = forms.CharField(max_length=60, required=False, help_text="letters, digits, _")
    label = forms.CharField(max_length=200, required=False)
    type = forms.ChoiceField(choices=[("", "—"), *INTAKE_KINDS.items()], required=False, label="Kind")
    required = forms.BooleanField(required=False)
    delete = forms.BooleanField(required=False, label="Remove")

    def field(self) -> dict | None:
        data = self.cleaned_data
        if data.get("delete") or not (data.get("name") or data.get("label")):
            return None
        return {"name": (data.get("name") or "").strip(), "label": (data.get("label") or "").strip(),
                "type": data.get("type") or "", "required": bool(data.get("required"))}


IntakeFormSet = forms.formset_factory(IntakeRowForm, extra=2, max_num=40, validate_max=True)


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=ReminderRule.Kind.choices)
    channel = forms.ChoiceField(choices=Channel.choices)
    minutes_before = forms.IntegerField(required=False, min_value=0, max_value=60 * 24 * 60, label="Minutes before",
                                        help_text="Reminders only: 1440 is a day before.")
    types = forms.ModelMultipleChoiceField(queryset=AppointmentType.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple, label="For",
                                           help_text="None ticked: every type.")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["types"].queryset = AppointmentType.objects.all()


def slot_value(calendar_id: int, start: dt.datetime) -> str:
    return f"{calendar_id}@{start.astimezone(dt.UTC).isoformat()}"


class SlotField(forms.CharField):
    """A slot as the pages offer it: "<calendar id>@<start, ISO 8601 UTC>"."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        calendar_id, _, start = value.partition("@")
        try:
            calendar_id, start = int(calendar_id), dt.datetime.fromisoformat(start)
        except ValueError:
            raise ValidationError("Choose one of the times offered.") from None
        if start.tzinfo is None:
            raise ValidationError("Choose one of the times offered.")
        return calendar_id, start


class BookForm(forms.Form):
    """Who it is for and the type's intake fields; ``slot`` is one of the times offered."""

    slot = SlotField(label="Time", error_messages={"required": "Choose a time."})
    name = forms.CharField(max_length=200)
    phone = forms.CharField(max_length=40, required=False, help_text="For the text reminder.")
    email = forms.EmailField(required=False)

    def __init__(self, *args, type_: AppointmentType, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = type_
        for f in type_.intake_fields or []:
            name = f"answer_{f.get('name')}"
            kind, label, required = f.get("type", "text"), f.get("label") or f.get("name"), bool(f.get("required"))
            if kind == "yes_no":
                field = forms.ChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")], required=required)
            elif kind == "number":
                field = forms.DecimalField(required=required)
            elif kind == "date":
                field = forms.DateField(required=required, widget=forms.DateInput(attrs={"type": "date"}))
            elif kind == "email":
                field = forms.EmailField(required=required)
            elif kind in ("long_text", "address"):
                field = forms.CharField(required=required, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
            else:
                field = forms.CharField(required=required, max_length=500)
            field.label, field.intake = label, f
            self.fields[name] = field

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone") or ""
        return to_e164(raw) if raw.strip() else ""

    def answers(self) -> dict:
        out = {}
        for name, field in self.fields.items():
            if name.startswith("answer_"):
                value = self.cleaned_data.get(name)
                if value in (None, ""):
                    continue
                if getattr(field, "intake", {}).get("type") == "phone":
                    value = to_e164(str(value))
                out[name.removeprefix("answer_")] = str(value) if not isinstance(value, str) else value
        return out

    def clean(self):
        data = super().clean()
        for name, field in self.fields.items():
            if name.startswith("answer_") and field.intake.get("type") == "phone" and data.get(name):
                try:
                    to_e164(data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)
        return data


class RescheduleForm(forms.Form):
    slot = SlotField(label="New time", error_messages={"required": "Choose the new time."})
    reason = forms.CharField(max_length=300, required=False, help_text="Kept in the history.")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why is it cancelled?",
                             error_messages={"required": "Say why it is cancelled: it is kept in the history."})

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Say why it is cancelled: it is kept in the history.")
        return reason
