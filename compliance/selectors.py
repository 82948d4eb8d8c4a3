"""Reads of compliance data. Tenant functions run inside one client's schema."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import CallAttempt
from compliance.models import DncEntry, DncImport, LedgerEntry
from compliance.rules import ABANDONMENT_CAP, ABANDONMENT_DAYS, ABANDONMENT_SLOW_DOWN, AbandonmentRate


def campaign_abandonment_rate(*, campaign, at: dt.datetime | None = None) -> AbandonmentRate:
    """A campaign's abandonment rate over the last 30 days (or its life, if shorter).

    Abandoned ÷ calls a live person answered (connected to an agent, or abandoned: both
    were picked up by a person). Machines, no-answers, busy and failed calls are not in
    the denominator (TSR 310.4(b)(4); 47 CFR 64.1200(a)(7)). ``status`` tells the dialer
    to ``slow_down`` from 2.5 % and to ``stop`` predictive dialing at 3 %.
    """
    at = at or timezone.now()
    counts = CallAttempt.objects.filter(
        campaign=campaign, started_at__gt=at - dt.timedelta(days=ABANDONMENT_DAYS), started_at__lte=at,
    ).aggregate(
        abandoned=Count("id", filter=Q(outcome=CallAttempt.Outcome.ABANDONED)),
        live=Count("id", filter=Q(outcome__in=[CallAttempt.Outcome.ABANDONED, CallAttempt.Outcome.LIVE_ANSWERED])),
    )
    rate = counts["abandoned"] / counts["live"] if counts["live"] else 0.0
    status = "stop" if rate >= ABANDONMENT_CAP else "slow_down" if rate >= ABANDONMENT_SLOW_DOWN else "ok"
    return AbandonmentRate(counts["abandoned"], counts["live"], rate, status)


def dnc_entry_list(*, query: str = "", include_removed: bool = False) -> QuerySet[DncEntry]:
    entries = DncEntry.objects.all()
    if not include_removed:
        entries = entries.filter(removed_at__isnull=True)
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        entries = entries.filter(Q(number__contains=digits) if digits else Q(reason__icontains=query))
    return entries


def ledger_search(
    *, query: str = "", event: str = "", outcome: str = "", since: dt.date | None = None, until: dt.date | None = None,
) -> QuerySet[LedgerEntry]:
    """The ledger, newest first, filtered by number (digits), asker, reason code, event and dates."""
    entries = LedgerEntry.objects.all()
    query = query.strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Q(asked_by__icontains=query) | Q(reasons__contains=[{"code": query}])
        if len(digits) >= 3:
            condition |= Q(number__contains=digits)
        entries = entries.filter(condition)
    if event:
        entries = entries.filter(event=event)
    if outcome:
        entries = entries.filter(outcome=outcome)
    if since:
        entries = entries.filter(created__date__gte=since)
    if until:
        entries = entries.filter(created__date__lte=until)
    return entries



def dnc_import_progress(*, job: DncImport) -> dict:
    """A CSV import's state as the page's progress bar reads it (JSON)."""
    total = job.rows_total
    done = total if job.is_finished else min(job.rows_done, total)
    if job.status == DncImport.Status.QUEUED:
        text = "Waiting for a worker to start…"
    elif job.status == DncImport.Status.PARSING:
        text = f"Checking line {done:,} of {total:,}…"
    elif job.status == DncImport.Status.WRITING:
        text = f"Checked {total:,} lines; adding the numbers to the list…"
    elif job.status == DncImport.Status.DONE:
        text = (f"Done: {job.added:,} added, {job.already:,} already on the list, "
                f"{job.errors_count:,} line{'s' if job.errors_count != 1 else ''} not imported.")
    else:
        text = f"Not imported: {job.failure}"
    return {"id": job.pk, "status": job.status, "finished": job.is_finished, "lines_total": total, "lines_done": done,
            "percent": 100 if job.is_finished else (int(done * 100 / total) if total else 0), "text": text,
            "added": job.added, "already": job.already, "errors": job.errors_count}
