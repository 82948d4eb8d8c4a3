"""Forms of the portal's pages. They only parse input; the services decide what is allowed."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from answering.messages.display import category_label
from answering.models import (
    CallRecord,
    Channel,
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Person,
    Rotation,
    Team,
)
from tenants.models import Role

DATE = forms.DateInput(attrs={"type": "date"})
MAX_MEMBERS = 8
# The days a filter or an export may name. A local day's bounds at the calendar's ends
# (year 1 east of UTC, the day after 9999-12-31) do not exist; no call is that old or that far off.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def day_field(label: str, *, required: bool = False) -> forms.DateField:
    message = f"Enter a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
    return forms.DateField(required=required, label=label, widget=DATE,
                           validators=[MinValueValidator(FIRST_DAY, message), MaxValueValidator(LAST_DAY, message)])


def form_errors_text(form: forms.Form, names: tuple[str, ...] | None = None) -> str:
    """The errors of ``form`` (of the fields ``names`` only, if given), each with the label of
    its field: "From: Enter a valid date." """
    return "; ".join(f"{form.fields[name].label}: {message}" if name in form.fields else message
                     for name, messages in form.errors.items() if names is None or name in names
                     for message in messages)


class MessageFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search",
                        widget=forms.TextInput(attrs={"placeholder": "Name, number or anything they said", "type": "search"}))
    urgency = forms.ChoiceField(required=False, choices=[("", "Any urgency"), *Message.Urgency.choices])
    category = forms.ChoiceField(required=False, choices=[("", "Any category")])
    state = forms.ChoiceField(required=False, label="Acknowledged", choices=[
        ("", "Acknowledged or not"), ("open", "Not acknowledged"), ("acknowledged", "Acknowledged")])
    box = forms.ChoiceField(required=False, label="Box", choices=[("inbox", "Inbox"), ("filed", "Filed"), ("all", "All")])
    since = day_field("From")
    until = day_field("To")

    def __init__(self, *args, categories: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "Any category"), *((c, category_label(c)) for c in categories)]

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"q": data.get("q") or "", "urgency": data.get("urgency") or "", "category": data.get("category") or "",
                "state": data.get("state") or "", "box": data.get("box") or "inbox",
                "since": data.get("since"), "until": data.get("until")}


class CallFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Caller", widget=forms.TextInput(attrs={"type": "search"}))
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *CallRecord.Outcome.choices])
    since = day_field("From")
    until = day_field("To")
    # A message's "the call" link names its call: the log shows just that one.
    call = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"q": data.get("q") or "", "outcome": data.get("outcome") or "", "since": data.get("since"),
                "until": data.get("until"), "call": data.get("call")}


# --- On call ---------------------------------------------------------------------------

class PersonForm(forms.Form):
    name = forms.CharField(max_length=120)
    email = forms.EmailField(required=False)
    mobile = forms.CharField(required=False, max_length=40, help_text="For text messages.")
    phone = forms.CharField(required=False, max_length=40, help_text="For voice call-outs.")
    webhook_url = forms.URLField(required=False, assume_scheme="https", label="Webhook URL", help_text="Their system, for signed webhooks.")
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive people are skipped in rotations.")


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80, label="New team")


class RotationForm(forms.Form):
    period = forms.ChoiceField(choices=Rotation.Period.choices)
    handover_time = forms.TimeField(label="Hand-over time (local)", widget=forms.TimeInput(attrs={"type": "time"}))
    starts_on = forms.DateField(label="First day", widget=DATE,
                                help_text="The first member's first shift starts at the hand-over time that day.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = Person.objects.filter(active=True)
        for i in range(1, MAX_MEMBERS + 1):
            self.fields[f"member_{i}"] = forms.ModelChoiceField(people, required=False, label=f"{i}.",
                                                                empty_label="—")

    def member_fields(self):
        return [self[f"member_{i}"] for i in range(1, MAX_MEMBERS + 1)]

    def members(self) -> list[Person]:
        return [p for i in range(1, MAX_MEMBERS + 1) if (p := self.cleaned_data.get(f"member_{i}"))]


class OverrideForm(forms.Form):
    person = forms.ModelChoiceField(Person.objects.filter(active=True), label="Who covers")
    starts = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends = forms.DateTimeField(label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(required=False, max_length=200)


# --- Escalation policies and rules -------------------------------------------------------

class PolicyForm(forms.Form):
    name = forms.CharField(max_length=80)
    repeat = forms.IntegerField(min_value=1, max_value=10, initial=2, help_text="How many times to run the whole chain.")
    needs_acknowledgement = forms.BooleanField(required=False, initial=True,
                                               help_text="Keep escalating until someone acknowledges.")
    alert_supervisors = forms.BooleanField(required=False, initial=True,
                                           help_text="Alert the answering service when nobody acknowledges.")


class StepForm(forms.Form):
    channel = forms.ChoiceField(required=False, choices=[("", "—"), *Channel.choices])
    target = forms.ChoiceField(required=False, choices=EscalationStep.Target.choices)
    person = forms.ModelChoiceField(Person.objects.all(), required=False, empty_label="—")
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="—")
    wait_minutes = forms.IntegerField(required=False, min_value=0, max_value=1440, initial=0, label="Then wait (min)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Querysets are evaluated per form: a person added a moment ago is offered.
        self.fields["person"].queryset = Person.objects.all()
        self.fields["team"].queryset = Team.objects.all()


StepFormSet = forms.formset_factory(StepForm, extra=2)


class RuleForm(forms.Form):
    position = forms.IntegerField(required=False, min_value=0, label="Order")
    urgency = forms.ChoiceField(required=False, choices=[("", "Any urgency"), *Message.Urgency.choices])
    category = forms.CharField(required=False, max_length=60, widget=forms.TextInput(attrs={"placeholder": "any"}))
    when = forms.ChoiceField(choices=DeliveryRule.When.choices, initial=DeliveryRule.When.ANY)
    policy = forms.ModelChoiceField(EscalationPolicy.objects.all(), required=False, empty_label="—")
    delete = forms.BooleanField(required=False, label="Remove")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = EscalationPolicy.objects.all()


RuleFormSet = forms.formset_factory(RuleForm, extra=1)


# --- People of the client ----------------------------------------------------------------

class InviteForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(required=False, max_length=150, label="Name")
    role = forms.ChoiceField(choices=[(Role.CLIENT_USER, "User: reads and acknowledges messages"),
                                      (Role.CLIENT_ADMIN, "Admin: also edits schedules, policies and people")])
    recordings_allowed = forms.BooleanField(required=False, label="May hear call recordings")
