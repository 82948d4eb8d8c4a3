"""Each client's call flow (tenant schema): what callers hear and which keys do what."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from tenants.models.clients import LANGUAGES
from tenants.phone import PhoneNumberField


class Prompt(models.Model):
    """Something said (or played) to callers, in one language."""

    class Key(models.TextChoices):
        GREETING = "greeting", "Greeting (open)"
        LANGUAGE_CHOICE = "language_choice", "Language choice (“para español, oprima dos”)"
        MENU = "menu", "Menu (open)"
        AFTER_HOURS_GREETING = "after_hours_greeting", "Greeting (after hours)"
        AFTER_HOURS_MENU = "after_hours_menu", "Menu (after hours)"
        RECORDING_NOTICE = "recording_notice", "Recording notice"
        HOLD = "hold", "Hold announcement (position {position}, wait {wait})"
        VOICEMAIL = "voicemail", "Voicemail prompt"
        INVALID = "invalid", "Invalid input"
        SUSPENDED = "suspended", "Service suspended"

    key = models.CharField(max_length=24, choices=Key.choices)
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    text = models.TextField(blank=True, help_text="Read by text-to-speech. {position} and {wait} work in the hold announcement.")
    voice = models.CharField(max_length=40, blank=True, help_text="e.g. Polly.Joanna, Polly.Mia")
    tts_language = models.CharField(max_length=10, blank=True, help_text="e.g. en-US, es-MX")
    audio_url = models.URLField(blank=True, help_text="Played instead of the text when set.")

    class Meta:
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="prompt_key_language_unique")]

    def __str__(self) -> str:
        return f"{self.get_key_display()} [{self.language}]"

    def clean(self) -> None:
        if not self.text and not self.audio_url:
            raise ValidationError("A prompt needs text or an audio URL.")


class MenuOption(models.Model):
    """A key on the menu: what happens when the caller presses it."""

    class Flow(models.TextChoices):
        OPEN = "open", "Business hours"
        AFTER_HOURS = "after_hours", "After hours"

    class Action(models.TextChoices):
        QUEUE = "queue", "Queue for an agent"
        VOICEMAIL = "voicemail", "Voicemail"
        INFO = "info", "Information message, then the menu again"
        TRANSFER = "transfer", "Transfer to a number"
        REPEAT = "repeat", "Repeat the menu"

    flow = models.CharField(max_length=12, choices=Flow.choices, default=Flow.OPEN)
    digit = models.CharField(max_length=1, choices=[(d, d) for d in "0123456789*#"])
    label = models.CharField(max_length=80, help_text="For staff and agents, e.g. “Emergency service”.")
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.QUEUE)
    priority = models.SmallIntegerField(choices=[(0, "Normal"), (1, "High"), (2, "Emergency")], default=0)
    info_text = models.JSONField(default=dict, blank=True, help_text='For “information”: {"en": "...", "es": "..."}')
    transfer_to = PhoneNumberField(blank=True)

    class Meta:
        ordering = ["flow", "digit"]
        constraints = [models.UniqueConstraint(fields=["flow", "digit"], name="menu_option_flow_digit_unique")]

    def __str__(self) -> str:
        return f"{self.get_flow_display()} {self.digit}: {self.label}"

    def clean(self) -> None:
        if self.action == self.Action.TRANSFER and not self.transfer_to:
            raise ValidationError({"transfer_to": "A transfer needs a number."})
        if self.action == self.Action.INFO and not self.info_text:
            raise ValidationError({"info_text": "An information option needs its message."})


class BusinessHours(models.Model):
    """Open hours for one weekday, in the client's time zone. No row for a day = closed."""

    weekday = models.PositiveSmallIntegerField(choices=[(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"),
                                                        (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
                                                        (6, "Sunday")])
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "business hours"
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")),
                                              name="business_hours_closes_after_opens")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """A holiday or closure: the after-hours flow runs for the whole span (client's local time)."""

    name = models.CharField(max_length=80)
    starts = models.DateTimeField()
    ends = models.DateTimeField()

    class Meta:
        ordering = ["starts"]
        constraints = [models.CheckConstraint(condition=models.Q(ends__gt=models.F("starts")),
                                              name="closure_ends_after_starts")]

    def __str__(self) -> str:
        return self.name
