"""Contact lists, their contacts and their CSV imports (tenant schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.phone import PhoneNumberField


def _empty_list() -> list:
    return []  # inside ContactImport, ``list`` is its field


class ContactList(models.Model):
    """A list a campaign works through; higher priority lists are dialed first."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(max_length=200)
    priority = models.SmallIntegerField(default=0, help_text="Higher is dialed first.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    recycled = models.PositiveSmallIntegerField(default=0, help_text="How many times its contacts were put back.")

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="contact_list_name_unique")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """One number a campaign calls, with what the list said about it and where it stands.

    One contact per number per campaign: importing the number again (same or another list)
    updates it. ``status`` and ``next_attempt_at`` are what the dialer's pick reads.
    """

    class Status(models.TextChoices):
        NEW = "new", "Not called yet"
        RETRY = "retry", "Waiting to try again"
        CALLBACK = "callback", "Callback booked"
        IN_FLIGHT = "in_flight", "Being called"
        DONE = "done", "Done"
        EXHAUSTED = "exhausted", "No attempts left"
        DNC = "dnc", "Do not call"
        BLOCKED = "blocked", "Refused by the compliance gate"

    DIALABLE = (Status.NEW, Status.RETRY, Status.CALLBACK)

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="contacts")
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="contacts")
    number = PhoneNumberField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    state = models.CharField(max_length=2, blank=True, help_text="US state of the contact's address, if known.")
    postal_code = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA zone, from the address or the number.")
    fields = models.JSONField(default=dict, blank=True, help_text="Custom fields scripts merge in.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Not before this (retries, callbacks).")
    last_outcome = models.CharField(max_length=16, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    disposition = models.ForeignKey("campaigns.Disposition", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    callback_agent_id = models.BigIntegerField(null=True, blank=True, help_text="A callback booked to this agent.")
    reason = models.CharField(max_length=300, blank=True, help_text="Why this contact is called (a follow-up).")
    source_call_sid = models.CharField(max_length=64, blank=True, help_text="The inbound call it follows up.")
    # Preview: the contact shown to an agent, until they dial or skip (or the hold runs out).
    reserved_by = models.BigIntegerField(null=True, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="contact_number_unique")]
        indexes = [
            # The dialer's pick, per list: retries and callbacks that are due, soonest first;
            # then fresh contacts in list order. Two small partial indexes, so neither walks
            # past the other's rows (nor past the thousands waiting for tomorrow).
            # (ORs, not IN: PostgreSQL prints an IN back in another form, and a client's schema
            # cloned from the template must match it exactly.)
            models.Index(fields=["list", "next_attempt_at"], name="contact_due",
                         condition=Q(status="retry") | Q(status="callback")),
            models.Index(fields=["list", "id"], name="contact_fresh", condition=Q(status="new")),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.number}"

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class ContactImport(models.Model):
    """A CSV import into a list: the file, its column mapping, its progress and outcome.

    Like the DNC list's import: a background job parses and writes; the portal's bar and
    the command's bar read this row. Every refused line is kept with its reason.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        PARSING = "parsing", "Checking the rows"
        WRITING = "writing", "Adding the contacts"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)

    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=255, blank=True)
    data = models.BinaryField(help_text="The uploaded file, until the job is over.")
    mapping = models.JSONField(default=dict, blank=True,
                               help_text="CSV column → contact field (number, first_name, …, or field:<name>).")
    added_by = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0, help_text="Numbers already in the campaign, updated.")
    merged = models.PositiveIntegerField(default=0, help_text="Rows repeating a number earlier in the file.")
    errors = models.JSONField(default=_empty_list, help_text="Every refused line: [{line, field, reason}].")
    errors_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.filename or 'CSV'} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
