"""Reads of campaigns: the portal's list and results, and the figures the wallboard shows.

Run inside the client's schema. The figures are defined once, here:

- **dials** = attempts that reached the telephone network and ended: answered by a person
  (connected, or abandoned), by a machine, not answered, busy or failed. Attempts still in
  progress, never placed, skipped in preview, and texts are not dials.
- **answers** = dials answered by a person or a machine (the line was picked up).
- **answer rate** = answers ÷ dials (None with no dial yet): how often a dial reaches
  anything at all, the figure predictive pacing lives on.
- **abandonment** = abandoned ÷ calls a person answered (connected or abandoned), the
  gate's rule (``compliance.selectors.campaign_abandonment_rate``); over 30 days and today.
- **conversions** = attempts whose disposition counts as a success (sale, appointment...).
- **contacts left** = contacts not finished: still to dial (new, retry, callback) or being
  called now — a campaign with none left completes.

"Today" is the local day of the current time zone: the portal's pages run in the client's
(``portal_page``); a caller elsewhere passes ``time_zone``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from compliance.rules import ABANDONMENT_CAP, ABANDONMENT_DAYS
from compliance.selectors import campaign_abandonment_rate

Outcome = CallAttempt.Outcome
PERSON = (Outcome.LIVE_ANSWERED, Outcome.ABANDONED)
ANSWERED = (*PERSON, Outcome.MACHINE)
DIALED = (*ANSWERED, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED)
LEFT = (*Contact.DIALABLE, Contact.Status.IN_FLIGHT)
# Near the cap: the wallboard and the portal warn from here (the dialer eases off at 2.5 %).
ABANDONMENT_NEAR = 0.025


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _today_start(time_zone: str | None, at: dt.datetime) -> dt.datetime:
    tz = zoneinfo.ZoneInfo(time_zone) if time_zone else timezone.get_current_timezone()
    return dt.datetime.combine(at.astimezone(tz).date(), dt.time.min, tzinfo=tz)


def _attempt_counts(*, today: dt.datetime, at: dt.datetime) -> dict:
    """The conditional counts of one aggregate over attempts (all time, today, 30 days)."""
    in_30d = Q(started_at__gt=at - dt.timedelta(days=ABANDONMENT_DAYS), started_at__lte=at)
    is_today = Q(started_at__gte=today)
    return {
        "attempts": Count("id", filter=~Q(outcome__in=[Outcome.NOT_PLACED, Outcome.SKIPPED])),
        "dials": Count("id", filter=Q(outcome__in=DIALED)),
        "answers": Count("id", filter=Q(outcome__in=ANSWERED)),
        "conversions": Count("id", filter=Q(disposition__success=True)),
        "attempts_today": Count("id", filter=is_today & ~Q(outcome__in=[Outcome.NOT_PLACED, Outcome.SKIPPED])),
        "dials_today": Count("id", filter=is_today & Q(outcome__in=DIALED)),
        "answers_today": Count("id", filter=is_today & Q(outcome__in=ANSWERED)),
        "abandoned_today": Count("id", filter=is_today & Q(outcome=Outcome.ABANDONED)),
        "live_today": Count("id", filter=is_today & Q(outcome__in=PERSON)),
        "abandoned_30d": Count("id", filter=in_30d & Q(outcome=Outcome.ABANDONED)),
        "live_30d": Count("id", filter=in_30d & Q(outcome__in=PERSON)),
    }


@dataclass(frozen=True)
class CampaignSummary:
    """One line of the portal's campaign list."""

    campaign: Campaign
    contacts: int
    contacts_left: int
    attempts: int
    dials: int
    answers: int
    answer_rate: float | None
    abandoned_30d: int
    live_30d: int
    abandon_rate_30d: float | None
    conversions: int

    @property
    def abandonment_risk(self) -> str:
        """``over`` the 3 % cap, ``near`` it (from 2.5 %), else ``ok``."""
        return abandonment_risk(self.abandon_rate_30d)


def abandonment_risk(rate: float | None) -> str:
    if rate is None:
        return "ok"
    return "over" if rate >= ABANDONMENT_CAP else "near" if rate >= ABANDONMENT_NEAR else "ok"


def campaign_summaries(*, at: dt.datetime | None = None) -> list[CampaignSummary]:
    """Every campaign (the callbacks campaign too), by name, with its headline figures: three
    queries however many campaigns (the campaigns, contacts grouped, attempts grouped). The
    30-day abandonment counts the same attempts, with the same window, as the gate's."""
    at = at or timezone.now()
    campaigns = list(Campaign.objects.order_by("-is_callbacks", "name"))
    contacts = {row["campaign_id"]: row for row in Contact.objects.order_by().values("campaign_id").annotate(
        total=Count("id"), left=Count("id", filter=Q(status__in=LEFT)))}
    attempts = {row["campaign_id"]: row for row in CallAttempt.objects.filter(campaign__isnull=False)
                .order_by().values("campaign_id").annotate(**_attempt_counts(today=_today_start(None, at), at=at))}
    summaries = []
    for campaign in campaigns:
        c = contacts.get(campaign.pk, {})
        a = attempts.get(campaign.pk, {})
        summaries.append(CampaignSummary(
            campaign=campaign, contacts=c.get("total", 0), contacts_left=c.get("left", 0),
            attempts=a.get("attempts", 0), dials=a.get("dials", 0), answers=a.get("answers", 0),
            answer_rate=_rate(a.get("answers", 0), a.get("dials", 0)),
            abandoned_30d=a.get("abandoned_30d", 0), live_30d=a.get("live_30d", 0),
            abandon_rate_30d=_rate(a.get("abandoned_30d", 0), a.get("live_30d", 0)),
            conversions=a.get("conversions", 0)))
    return summaries


@dataclass(frozen=True)
class CampaignFigures:
    """One campaign's figures (see the module's docstring for each definition)."""

    contacts: int
    contacts_left: int
    contacts_by_status: dict[str, int]
    attempts: int
    attempts_by_outcome: dict[str, int]
    dials: int
    answers: int
    answer_rate: float | None
    attempts_today: int
    dials_today: int
    answers_today: int
    answer_rate_today: float | None
    abandoned_today: int
    live_today: int
    abandon_rate_today: float | None
    abandoned_30d: int
    live_30d: int
    abandon_rate_30d: float | None
    abandonment_status: str  # the gate's: ok, slow_down, stop
    conversions: int
    at: dt.datetime = field(default_factory=timezone.now)

    @property
    def abandonment_risk(self) -> str:
        return abandonment_risk(max(self.abandon_rate_30d or 0, self.abandon_rate_today or 0) if self.live_30d else None)

    def stats(self) -> dict:
        """The keys the dialer's tick writes to ``DialerCampaign.stats`` that come from here
        (the tick adds ``agents`` and ``lines_in_flight``, which it knows)."""
        return {"contacts_left": self.contacts_left, "attempts_today": self.attempts_today,
                "answered_today": self.answers_today, "answer_rate": self.answer_rate_today,
                "abandoned_today": self.abandoned_today, "live_today": self.live_today,
                "abandon_rate_today": self.abandon_rate_today, "abandoned_30d": self.abandoned_30d,
                "live_30d": self.live_30d, "abandon_rate_30d": self.abandon_rate_30d}


def campaign_figures(campaign: Campaign, *, at: dt.datetime | None = None,
                     time_zone: str | None = None) -> CampaignFigures:
    """A campaign's figures now: three indexed aggregate queries (contacts by status, attempts
    by outcome with today's and 30 days' counts in the same pass, and the gate's own 30-day
    abandonment, so the page shows exactly the rate the dialer obeys)."""
    at = at or timezone.now()
    by_status = dict(Contact.objects.filter(campaign=campaign).order_by().values("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    outcomes = CallAttempt.Outcome.values
    counts = CallAttempt.objects.filter(campaign=campaign).aggregate(
        **_attempt_counts(today=_today_start(time_zone, at), at=at),
        **{f"outcome_{o}": Count("id", filter=Q(outcome=o)) for o in outcomes})
    abandonment = campaign_abandonment_rate(campaign=campaign, at=at)
    return CampaignFigures(
        contacts=sum(by_status.values()), contacts_left=sum(by_status.get(s, 0) for s in LEFT),
        contacts_by_status={s: by_status.get(s, 0) for s in Contact.Status.values},
        attempts=counts["attempts"], attempts_by_outcome={o: counts[f"outcome_{o}"] for o in outcomes},
        dials=counts["dials"], answers=counts["answers"], answer_rate=_rate(counts["answers"], counts["dials"]),
        attempts_today=counts["attempts_today"], dials_today=counts["dials_today"],
        answers_today=counts["answers_today"], answer_rate_today=_rate(counts["answers_today"], counts["dials_today"]),
        abandoned_today=counts["abandoned_today"], live_today=counts["live_today"],
        abandon_rate_today=_rate(counts["abandoned_today"], counts["live_today"]),
        abandoned_30d=abandonment.abandoned, live_30d=abandonment.live_answered,
        abandon_rate_30d=abandonment.rate if abandonment.live_answered else None,
        abandonment_status=abandonment.status, conversions=counts["conversions"], at=at)


def campaign_lists(campaign: Campaign) -> QuerySet[ContactList]:
    """The campaign's lists, highest priority first, each with its contacts and how many are left."""
    return (ContactList.objects.filter(campaign=campaign)
            .annotate(contacts_total=Count("contacts"), contacts_left=Count("contacts", filter=Q(contacts__status__in=LEFT)))
            .order_by("-priority", "name"))


def campaign_imports(campaign: Campaign, *, limit: int = 5) -> list[ContactImport]:
    """The campaign's latest imports, newest first (without their files)."""
    return list(ContactImport.objects.filter(list__campaign=campaign).select_related("list")
                .defer("data", "errors")[:limit])


def campaign_results(campaign: Campaign, filters: dict | None = None) -> QuerySet[Contact]:
    """Every contact of the campaign in list order, with where it stands: status, attempts,
    last outcome, disposition, and from its latest attempt the amount and the agent
    (``last_amount``, ``last_agent_id``). ``filters``: ``status``, ``outcome`` (the last
    outcome), ``list`` (a list's id), ``q`` (a name, or digits of the number)."""
    filters = filters or {}
    latest = CallAttempt.objects.filter(contact=OuterRef("pk")).order_by("-started_at", "-pk")
    contacts = (Contact.objects.filter(campaign=campaign).select_related("list", "disposition")
                .annotate(last_amount=Subquery(latest.values("amount")[:1]),
                          last_agent_id=Subquery(latest.exclude(agent_id=None).values("agent_id")[:1]))
                .order_by("id"))
    if filters.get("status"):
        contacts = contacts.filter(status=filters["status"])
    if filters.get("outcome"):
        contacts = contacts.filter(last_outcome=filters["outcome"])
    if filters.get("list"):
        contacts = contacts.filter(list_id=filters["list"])
    q = (filters.get("q") or "").strip()
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        match = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(email__icontains=q)
        if len(digits) >= 3:
            match |= Q(number__contains=digits)
        contacts = contacts.filter(match)
    return contacts


def contact_field_names(contacts: QuerySet[Contact]) -> list[str]:
    """Every custom field name these contacts carry, sorted (one export column each)."""
    sql, params = contacts.values("pk").query.sql_with_params()
    table = connection.ops.quote_name(Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT jsonb_object_keys(fields) FROM {table} "
                       f"WHERE jsonb_typeof(fields) = 'object' AND id IN ({sql})", params)
        return sorted(row[0] for row in cursor.fetchall())


def campaign_configured_modes(schemas_campaigns: dict[str, list[int]]) -> dict[tuple[str, int], str]:
    """The mode each campaign is configured with, by (schema, campaign id), across clients:
    one statement (a ``UNION ALL`` of one primary-key select per schema). The wallboard
    compares it with the mode the dialer dials in now."""
    parts, params = [], []
    q = connection.ops.quote_name
    table = q(Campaign._meta.db_table)
    for schema, ids in schemas_campaigns.items():
        if ids:
            parts.append(f"SELECT %s::text AS schema, id, mode FROM {q(schema)}.{table} WHERE id = ANY(%s)")
            params += [schema, list(ids)]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"({p})" for p in parts), params)
        return {(schema, pk): mode for schema, pk, mode in cursor.fetchall()}

