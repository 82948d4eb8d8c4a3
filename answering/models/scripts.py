"""Scripts (tenant schema): what an agent says and asks on a client's calls.

A ``Script`` is edited as rows — its steps, the fields each step captures, and the
branches taken on answers — so the admin can offer ordered inlines instead of a JSON box.
Every valid save publishes a ``ScriptVersion``: an immutable JSON snapshot of the whole
definition (schema in docs/scripts.md). Calls and messages point at the version they used,
so editing a script later never changes what an earlier call was guided by.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenants.phone import PhoneNumberField

MENU_CHOICE_HELP = "Menu choices that get this script, as flow:digit — e.g. open:1, after_hours:1 (comma-separated)."


class Script(models.Model):
    key = models.SlugField(max_length=40, help_text="Stable name, e.g. “emergency”; import and export match on it.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text="For staff: when this script is used.")
    used_for = ArrayField(models.CharField(max_length=20), default=list, blank=True, help_text=MENU_CHOICE_HELP)
    is_default = models.BooleanField(default=False, help_text="Used for calls whose menu choice no script claims.")
    current_version = models.ForeignKey("ScriptVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="script_key_unique"),
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                    name="script_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class ScriptStep(models.Model):
    """One screen of the script: what the agent says, then what happens next. An
    "appointment" step books one of the client's appointment types while the caller is on
    the line (answering/scripts/appointments.py); its intake comes from the type."""

    class Kind(models.TextChoices):
        QUESTION = "question", "Questions (the fields below)"
        APPOINTMENT = "appointment", "Book an appointment"

    class End(models.TextChoices):
        MESSAGE = "message", "Take a message"
        DISPATCH = "dispatch", "Dispatch to the on-call person"
        TRANSFER = "transfer", "Transfer to a number"
        LOG = "log", "Just log the call"
        CALLBACK = "callback", "Take a message and call the caller back (the callbacks campaign)"

    class Urgency(models.TextChoices):
        NORMAL = "normal", "Normal"
        URGENT = "urgent", "Urgent"

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0, help_text="The first step is where every call starts.")
    key = models.SlugField(max_length=40, help_text="Short name used by branches, e.g. “danger”.")
    say = models.JSONField(default=dict, blank=True, help_text="What the agent says, per language.")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.QUESTION, blank=True)
    # Names, not foreign keys: a published version keeps them as text and stays readable
    # whatever happens to the types later (calendars.AppointmentType.name is unique).
    appointment_types = ArrayField(models.CharField(max_length=200), default=list, blank=True,
                                   help_text="An appointment step: the appointment types it offers, by name "
                                             "(comma-separated), e.g. New patient, Follow-up.")
    next_step = models.CharField(max_length=40, blank=True, help_text="Step key to go to when no branch matches.")
    end_action = models.CharField(max_length=10, choices=End.choices, blank=True)
    end_urgency = models.CharField(max_length=10, choices=Urgency.choices, blank=True)
    end_category = models.CharField(max_length=60, blank=True)
    transfer_to = PhoneNumberField(blank=True)

    class Meta:
        ordering = ["script", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["script", "key"], name="script_step_key_unique")]

    def __str__(self) -> str:
        return self.key


class ScriptField(models.Model):
    """Something the agent captures on a step."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        PHONE = "phone", "Phone number"
        EMAIL = "email", "Email"
        ADDRESS = "address", "Address"
        YES_NO = "yes_no", "Yes / no"
        CHOICE = "choice", "Choice"
        DATE = "date", "Date"
        DATETIME = "datetime", "Date and time"
        NUMBER = "number", "Number"

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="fields")
    step_key = models.CharField(max_length=40, help_text="The step that asks for it.")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.SlugField(max_length=40, help_text="e.g. callback_number; unique in the script.")
    label = models.CharField(max_length=120, help_text="What the agent sees next to the input.")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    required = models.BooleanField(default=False)
    options = ArrayField(models.CharField(max_length=60), default=list, blank=True,
                         help_text="For a choice: the options, comma-separated.")
    min_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["script", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["script", "name"], name="script_field_name_unique")]

    def __str__(self) -> str:
        return self.name


class ScriptBranch(models.Model):
    """On a step: when a field's answer equals a value, go to another step."""

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="branches")
    step_key = models.CharField(max_length=40, help_text="The step this branch leaves from.")
    position = models.PositiveSmallIntegerField(default=0)
    field_name = models.CharField(max_length=40)
    equals = models.CharField(max_length=60, help_text="e.g. yes, no, or one of a choice's options.")
    goto_step = models.CharField(max_length=40)

    class Meta:
        ordering = ["script", "position", "id"]
        verbose_name_plural = "script branches"

    def __str__(self) -> str:
        return f"{self.step_key}: {self.field_name} = {self.equals} → {self.goto_step}"


class ScriptVersion(models.Model):
    """A published script, frozen: the definition a call was guided by."""

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField(editable=False)
    checksum = models.CharField(max_length=64, editable=False)
    published_at = models.DateTimeField(auto_now_add=True)
    # Users live in the public schema (see CallRecord.agent): no constraint, no cascade.
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                     related_name="+", db_constraint=False)

    class Meta:
        ordering = ["script", "-number"]
        constraints = [models.UniqueConstraint(fields=["script", "number"], name="script_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.script} v{self.number}"

    def save(self, *args, **kwargs):
        # Calls keep the version they used: once written, a version never changes.
        if not self._state.adding:
            raise ValueError("A published script version is immutable; publish a new one.")
        super().save(*args, **kwargs)
