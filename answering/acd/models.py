"""The ACD's live state, in the public schema: small, hot, shared by every client.

Both tables change only through ``answering.acd.services``, which holds the state
machines and the transitions allowed between states.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, BigIntegerRangeField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone


class CallSession(models.Model):
    """One call in flight (or recently ended), for any client."""

    class State(models.TextChoices):
        RINGING = "ringing", "Ringing"
        IN_MENU = "in_menu", "In menu"
        QUEUED = "queued", "Queued"
        OFFERED = "offered", "Offered"
        CONNECTED = "connected", "Connected"
        WRAP_UP = "wrap_up", "Wrap-up"
        COMPLETED = "completed", "Completed"
        ABANDONED = "abandoned", "Abandoned"
        VOICEMAIL = "voicemail", "Voicemail"
        TRANSFERRED = "transferred", "Transferred"
        FAILED = "failed", "Failed"

    class Priority(models.IntegerChoices):
        NORMAL = 0, "Normal"
        HIGH = 1, "High"
        EMERGENCY = 2, "Emergency"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    call_sid = models.CharField(max_length=64, unique=True)
    account_sid = models.CharField(max_length=64, blank=True)
    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="call_sessions")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    from_number = models.CharField(max_length=32, blank=True)
    # Where the caller's number is registered, as Twilio says (FromCity, FromState): shown to the agent.
    from_city = models.CharField(max_length=64, blank=True)
    from_state = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RINGING)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    language = models.CharField(max_length=8, default="en")
    menu_choice = models.CharField(max_length=40, blank=True, help_text="What the caller chose, e.g. 'open:1'.")
    menu_attempts = models.PositiveSmallIntegerField(default=0)
    # Queue order: priority first, then this. A caller whose agent leg failed keeps the
    # original time, so they go back to the head of the queue.
    queued_at = models.DateTimeField(null=True, blank=True)
    offered_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    arrived_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    passed_over = ArrayField(models.BigIntegerField(), default=list, blank=True,
                             help_text="Agents who let an offer of this call expire or whose leg failed.")
    # When the last agent passed this call over: that agent is offered it again only after
    # ACD_REOFFER_PAUSE_SECONDS, and only when nobody else can take it.
    passed_over_at = models.DateTimeField(null=True, blank=True)
    # The caller hung up before the agent finished: the wrap-up waits for the agent's work.
    caller_hung_up = models.BooleanField(default=False)
    last_sequence = models.IntegerField(default=-1, help_text="Highest status-callback SequenceNumber applied.")
    twilio_status = models.CharField(max_length=20, blank=True)
    # An outbound call: the campaign attempt (in the client's schema) it connects.
    attempt_id = models.BigIntegerField(null=True, blank=True)
    record = models.BooleanField(default=False)
    # The call's conference once an agent took it (answering/acd/services/controls.py): its
    # SID, the agent's leg, the hold, and a third party being patched or transferred in.
    conference = models.JSONField(default=dict, blank=True)
    # The script version this call is answered with (a row in the client's schema, so an
    # id, not a key): fixed at the first screen pop, kept however the script is edited.
    script_version_id = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The dispatcher's scan, in its order: only waiting calls are in it, so the calls
            # in a menu, on a call or long ended — nearly every row — cost it nothing to write.
            models.Index(fields=["-priority", "queued_at", "id"], name="acd_queue_order",
                         condition=Q(state="queued")),
            models.Index(fields=["client", "state"], name="acd_client_state"),
        ]
        constraints = [
            # Exactly-once assignment, held by the database: an agent is on at most one live
            # call, and a live call has exactly one agent.
            models.UniqueConstraint(
                fields=["agent"], condition=Q(state__in=["connected"]), name="acd_one_live_call_per_agent"
            ),
            models.UniqueConstraint(
                fields=["offered_to"], condition=Q(state="offered"), name="acd_one_offer_per_agent"
            ),
            models.CheckConstraint(
                condition=~Q(state="connected") | Q(agent__isnull=False), name="acd_connected_has_agent"
            ),
            models.CheckConstraint(
                condition=~Q(state="offered") | Q(offered_to__isnull=False, offer_expires_at__isnull=False),
                name="acd_offered_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_sid} ({self.state})"

    def wait_seconds(self, now=None) -> float:
        if not self.queued_at:
            return 0.0
        end = self.answered_at or self.ended_at or now or timezone.now()
        return max(0.0, (end - self.queued_at).total_seconds())


LIVE_STATES = {
    CallSession.State.RINGING, CallSession.State.IN_MENU, CallSession.State.QUEUED,
    CallSession.State.OFFERED, CallSession.State.CONNECTED,
}
ENDED_STATES = {
    CallSession.State.COMPLETED, CallSession.State.ABANDONED, CallSession.State.VOICEMAIL,
    CallSession.State.TRANSFERRED, CallSession.State.FAILED,
}


class AgentPresence(models.Model):
    """Where an agent is right now. One row per agent, made on first status change."""

    class Status(models.TextChoices):
        OFFLINE = "offline", "Offline"
        AVAILABLE = "available", "Available"
        OFFERED = "offered", "Offered a call"
        ON_CALL = "on_call", "On a call"
        WRAP_UP = "wrap_up", "Wrap-up"
        BREAK = "break", "Break"
        AWAY = "away", "Away (missed offers)"

    agent = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                 related_name="presence")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFLINE)
    since = models.DateTimeField(default=timezone.now, help_text="When the current status began.")
    # Longest idle first: the last time this agent finished work (or became available).
    idle_since = models.DateTimeField(default=timezone.now)
    missed_offers = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True, help_text="Why the status last changed, in words.")
    phone_number = models.CharField(max_length=16, blank=True,
                                    help_text="Ring this number instead of the browser (E.164).")
    # Inbound, outbound or blended, as the agent chose in the console (within what their
    # profile allows): the ACD offers inbound calls to inbound and blended agents, the dialer
    # counts outbound ones, and blended ones only while their clients have nobody waiting.
    mode = models.CharField(max_length=16, default="inbound")

    class Meta:
        indexes = [models.Index(fields=["status", "idle_since"], name="acd_presence_idle")]
        verbose_name_plural = "agent presence"

    def __str__(self) -> str:
        return f"{self.agent} — {self.status}"


class TwilioRequest(models.Model):
    """The answer we gave to a Twilio request, so a retried request gets the same answer
    and causes nothing twice. Pruned after a day by a periodic task."""

    key = models.CharField(max_length=64, primary_key=True)
    path = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField(default=200)
    content_type = models.CharField(max_length=60, default="text/xml")
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)


class TwilioAccount(models.Model):
    """A Twilio (sub)account whose numbers we serve: its auth token signs their webhooks."""

    sid = models.CharField("account SID", max_length=34, primary_key=True)
    friendly_name = models.CharField(max_length=100, blank=True)
    auth_token = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.friendly_name or self.sid


class OutboxTimer(models.Model):
    """When to look at a client's pending delivery or escalation again (public schema).

    The outbox rows live in each client's schema; this small table says, across all
    clients, what is due when — so one sweep finds due work with one indexed query instead
    of visiting every schema, and a timer survives any worker or broker restart. Written
    in the same transaction as the tenant row it points at.
    """

    class Kind(models.TextChoices):
        DELIVERY = "delivery", "Send a delivery"
        ESCALATION = "escalation", "Run a message's next escalation step"
        NOTICE = "notice", "Send an appointment's confirmation or reminder"
        WEBHOOK = "webhook", "Send an event to a client's webhook endpoint"

    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="The Delivery's or Message's id in the client's schema.")
    due_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="acd_outbox_due")]
        constraints = [models.UniqueConstraint(fields=["client", "kind", "object_id"], name="acd_outbox_timer_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} of {self.client_id} at {self.due_at:%H:%M:%S}"


class SupervisorAlert(models.Model):
    """Something the answering service's supervisors must act on, across clients: a message
    nobody acknowledged to the end of its chain, or a delivery that failed for good.
    Shown on the wallboard until resolved (the message acknowledged, or dismissed)."""

    class Kind(models.TextChoices):
        UNACKNOWLEDGED = "unacknowledged", "Nobody acknowledged"
        DELIVERY_FAILED = "delivery_failed", "A delivery failed"

    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message_id = models.BigIntegerField(help_text="The Message's id in the client's schema.")
    text = models.CharField(max_length=300)
    created = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["resolved_at", "-created"], name="acd_alert_open")]

    def __str__(self) -> str:
        return self.text


class DialerCampaign(models.Model):
    """A running campaign, across clients (public schema): what the dialer's beat ticks.

    The campaign lives in its client's schema; this row says that it runs, so one tick
    finds every running campaign with one query instead of visiting every schema, and
    carries what the wallboard shows of its pacing. Written in the same transaction as
    the campaign's state (``campaigns.services.campaign_start`` / ``_pause`` / ``_stop``).
    """

    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    campaign_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=12, help_text="The mode it dials in now (predictive may drop to progressive).")
    lines_per_agent = models.FloatField(default=0)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it dials as it does, in words.")
    stats = models.JSONField(default=dict, blank=True, help_text="The last tick's figures, for the wallboard.")
    ticked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "campaign_id"], name="acd_dialer_campaign_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"


class PresenceInterval(models.Model):
    """One stretch of an agent's presence in one status: the history ``AgentPresence`` does not
    keep, for occupancy (``answering.acd.selectors.presence_seconds``).

    Written by PostgreSQL, not by Python: a trigger on ``AgentPresence`` (migration
    ``0010_presence_log``) closes the open interval and opens the next one whenever a row's
    status changes, in the same statement — so every path that changes presence (services,
    the dialer's conditional UPDATEs, raw SQL) is logged, and a rolled-back change leaves the
    log as it was. ``ended`` is NULL while current: at most one such row per agent, and no two
    intervals of an agent overlap (both held by the database).
    """

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=AgentPresence.Status.choices)
    started = models.DateTimeField()
    ended = models.DateTimeField(null=True, blank=True, help_text="Empty while this is the agent's status now.")

    class Meta:
        indexes = [models.Index(fields=["agent", "started"], name="acd_presence_log_agent")]
        constraints = [
            models.UniqueConstraint(fields=["agent"], condition=Q(ended__isnull=True), name="acd_presence_log_one_open"),
            models.CheckConstraint(condition=Q(ended__isnull=True) | Q(ended__gte=models.F("started")),
                                   name="acd_presence_log_order"),
            # The agent's part is an overlap of one-point ranges, not ``agent_id WITH =``: no
            # btree_gist extension needed (see calendars.models for why).
            ExclusionConstraint(
                name="acd_presence_log_no_overlap",
                expressions=[(Func(F("agent"), F("agent"), Value("[]"), function="int8range",
                                   output_field=BigIntegerRangeField()), RangeOperators.OVERLAPS),
                             # An open interval's upper bound is NULL: unbounded, so nothing may start after it.
                             (Func(F("started"), F("ended"), Value("[)"), function="tstzrange",
                                   output_field=DateTimeRangeField()), RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} — {self.status} from {self.started:%Y-%m-%d %H:%M:%S}"
