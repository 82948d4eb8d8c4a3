"""Compliance data shared by every client (public schema).

Rules are data: the platform admin reads and updates these tables, each row says where
its numbers come from, and every gate decision records the version of the data it used.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from compliance.rules import Purpose, sms_text_normalize
from tenants.models.clients import LANGUAGES
from tenants.phone import PhoneNumberField


class PlatformDncEntry(models.Model):
    """A number the answering service itself never calls for any client (complaints,
    litigators, reported wrong numbers). Applies to every purpose but staff messages."""

    number = PhoneNumberField(unique=True)
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="Where the request came from.")
    added_by = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "platform DNC entry"
        verbose_name_plural = "platform DNC list"

    def __str__(self) -> str:
        return self.number


class RegistryNumber(models.Model):
    """One number on the National Do Not Call Registry: its 10-digit NANP national number.

    A bigint primary key and nothing else, so 250 million of them fit in ~10 GB and load
    with COPY. Written only by ``load_dnc_registry`` (compliance.services.registry).
    """

    number = models.BigIntegerField(primary_key=True, help_text="10 digits: area code and number.")

    class Meta:
        verbose_name = "National DNC Registry number"

    def __str__(self) -> str:
        return f"+1{self.number}"


class RegistryLoad(models.Model):
    """One file loaded into the registry: what, which date the FTC produced it, the outcome.

    The gate refuses telemarketing when the newest load's file date is more than the
    31 days old (TSR 16 CFR 310.4(b)(3)(iv)), or when no full file was ever loaded.
    """

    class Kind(models.TextChoices):
        FULL = "full", "Full list (replaces the registry)"
        CHANGE = "change", "Change list (additions and deletions)"

    file_name = models.CharField(max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file_date = models.DateField(help_text="The date the FTC produced the file: the data's age counts from it.")
    loaded_at = models.DateTimeField(auto_now_add=True)
    lines = models.PositiveBigIntegerField(default=0)
    added = models.PositiveBigIntegerField(default=0)
    deleted = models.PositiveBigIntegerField(default=0)
    malformed = models.PositiveBigIntegerField(default=0)
    malformed_sample = models.JSONField(default=list, blank=True, help_text="The first malformed lines: [line, text].")
    total_after = models.PositiveBigIntegerField(default=0, help_text="Numbers in the registry after this load.")
    seconds = models.FloatField(default=0)
    loaded_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-loaded_at"]
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} of {self.file_date}"


class CallingRule(models.Model):
    """Hours, day bans and frequency caps of one jurisdiction for some purposes.

    ``jurisdiction`` is ``US`` (federal) or a state's two-letter code; a state rule applies
    when the called party may be in that state (area code or address). The newest row per
    jurisdiction and name whose ``effective_from`` has passed is the one in force.
    """

    jurisdiction = models.CharField(max_length=2, help_text="US for federal, else the state's code (FL).")
    name = models.CharField(max_length=100, help_text="e.g. “Telephone solicitation hours”.")
    purposes = ArrayField(models.CharField(max_length=20, choices=Purpose.choices))
    window_start = models.TimeField(null=True, blank=True, help_text="Earliest local time a call may start.")
    window_end = models.TimeField(null=True, blank=True, help_text="Calls must start before this local time.")
    no_sundays = models.BooleanField(default=False)
    no_holidays = models.BooleanField(default=False, help_text="No calls on the holidays listed for this jurisdiction.")
    max_attempts = models.PositiveSmallIntegerField(null=True, blank=True, help_text="At most this many attempts…")
    period_hours = models.PositiveSmallIntegerField(null=True, blank=True, help_text="…in this many hours…")
    per_subject = models.BooleanField(default=True, help_text="…about the same subject (campaign, debt).")
    quiet_hours_after_conversation = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="No call for this many hours after a conversation on the subject (Reg F: 168)."
    )
    source = models.CharField(max_length=300, help_text="The statute or rule, so a reviewer can check it.")
    effective_from = models.DateField()
    notes = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["jurisdiction", "name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name", "effective_from"], name="calling_rule_unique"),
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True, window_end__isnull=True)
                | models.Q(window_start__isnull=False, window_end__isnull=False, window_start__lt=models.F("window_end")),
                name="calling_rule_window_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(max_attempts__isnull=True) | models.Q(period_hours__isnull=False),
                name="calling_rule_cap_has_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.name}"


class Holiday(models.Model):
    """A legal holiday on which a jurisdiction bans solicitation (see CallingRule.no_holidays)."""

    jurisdiction = models.CharField(max_length=2)
    date = models.DateField()
    name = models.CharField(max_length=100)
    source = models.CharField(max_length=300, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "jurisdiction"]
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "date"], name="holiday_unique")]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.date}: {self.name}"


class UsState(models.Model):
    """A state (or DC) and the IANA time zones a person there may be in."""

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=60)
    time_zones = ArrayField(models.CharField(max_length=64))
    all_party_recording_consent = models.BooleanField(
        default=False, help_text="Recording a call needs every party's consent (or the rule is mixed: treated as all-party)."
    )
    recording_source = models.CharField(max_length=300, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "US state"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AreaCode(models.Model):
    """A US area code and the state it belongs to (laws presume an in-state area code means
    an in-state person). Seeded from libphonenumber's geocoding data."""

    code = models.PositiveSmallIntegerField(primary_key=True)
    state = models.ForeignKey(UsState, on_delete=models.PROTECT, related_name="area_codes")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.state_id})"


class SmsKeyword(models.Model):
    """Words in an inbound text that opt out, opt back in, ask for help, or may mean “stop”.

    ``first_word`` keywords match when the message starts with them (any case, any
    punctuation, trailing words allowed: “Stop!!”, “STOP please”); ``exact`` only when they
    are the whole message (re-subscribing needs an unambiguous “START”, and words with an
    everyday meaning — “cancelar mi cita” — opt out only alone); ``phrase`` anywhere in the
    message (“please stop texting me”). ``review`` phrases act on nothing: the text is a
    possible opt-out, flagged in the client's ledger for a person to read.

    Every client's texts are matched against every language's opt-out words (a revocation
    is honoured in any language we know); ``language`` picks the language of the reply,
    where the client serves it.
    """

    class Action(models.TextChoices):
        OPT_OUT = "opt_out", "Opt out"
        OPT_IN = "opt_in", "Opt back in (texts)"
        HELP = "help", "Help"
        REVIEW = "review", "Possible opt-out: flag for a person"

    class Match(models.TextChoices):
        FIRST_WORD = "first_word", "Message starts with it"
        EXACT = "exact", "Whole message"
        PHRASE = "phrase", "Anywhere in the message"

    text = models.CharField(max_length=60,
                            help_text="Stored lowercase, accents folded, words split by single spaces (“no más” → “no mas”).")
    action = models.CharField(max_length=8, choices=Action.choices)
    match = models.CharField(max_length=10, choices=Match.choices)
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en",
                                help_text="The language of the word; the reply is in it where the client serves it.")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "language", "text"]
        constraints = [
            # The same words may count differently by where they stand: “stop” first opts
            # out, “stop” later in the text (“can you stop?”) is flagged for a person.
            models.UniqueConstraint(fields=["text", "match"], name="sms_keyword_text_match_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        # Folded before the constraints are checked (after clean), so “STOP” typed in the
        # admin is refused as a duplicate of “stop” rather than failing on save.
        self.text = sms_text_normalize(self.text)
        if not self.text:
            raise ValidationError({"text": "A keyword needs at least one letter or digit."})

    def save(self, *args, **kwargs):
        # One spelling, the one inbound texts are compared in: “NO MÁS” typed in the admin
        # must match a texter's “no mas”.
        self.text = sms_text_normalize(self.text)
        super().save(*args, **kwargs)
