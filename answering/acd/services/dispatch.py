"""The dispatcher: waiting calls offered to the longest-idle eligible agent.

Safe to run from many processes at once: dispatchers take turns on an advisory lock, and
each offer is a transition of a locked row, so no call or agent is offered twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from answering import live
from answering.acd.models import AgentPresence, CallSession
from answering.acd.selectors import offer_payload
from answering.acd.services.states import State, Status, _transition
from tenants.models import AgentProfile

logger = logging.getLogger(__name__)


# pg_advisory_xact_lock key held by acd_dispatch: an arbitrary constant, unique in this database.
DISPATCH_LOCK = 0x5B0A4D01


def reoffer_pause_seconds() -> int:
    """How long an agent who declined or missed a call is not offered it again (they come
    last after that, so they get it only when nobody else can take it)."""
    return settings.ACD_REOFFER_PAUSE_SECONDS


def eligible_agents(session: CallSession, now=None):
    """Available agents who serve this client and speak the call's language, longest idle
    first; agents this call already passed over come last, and not at all for
    ``reoffer_pause_seconds`` after the last pass (a declined call is not offered straight
    back to the agent who declined it)."""
    passed = session.passed_over or [-1]
    now = now or timezone.now()
    paused = bool(session.passed_over and session.passed_over_at
                  and (now - session.passed_over_at).total_seconds() < reoffer_pause_seconds())
    agents = AgentPresence.objects.exclude(agent_id__in=passed) if paused else AgentPresence.objects
    return (
        agents.filter(
            status=Status.AVAILABLE,
            agent__is_active=True,
            agent__agent_profile__clients=session.client_id,
            agent__agent_profile__languages__contains=[session.language],
            agent__agent_profile__mode__in=[AgentProfile.Mode.INBOUND, AgentProfile.Mode.BLENDED],
            mode__in=["inbound", "blended"],  # what the agent chose in the console: "outbound" takes no inbound
        )
        .annotate(passed=Case(When(agent_id__in=passed, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("passed", "idle_since", "agent__agent_profile__priority", "agent_id")
    )


def acd_dispatch() -> list[CallSession]:
    """Offer waiting calls to agents: highest priority first, then longest waiting; each to
    the longest-idle eligible agent. Safe to run from many processes at once: dispatchers
    take turns (a transaction-level advisory lock, held for a few milliseconds), so two
    never offer the same call or agent, and none misses what another just committed."""
    offered: list[CallSession] = []
    timeout = settings.ACD_OFFER_TIMEOUT_SECONDS
    with transaction.atomic():
        # One dispatcher at a time, each reading what the one before it committed. Without
        # this, a dispatch run for an agent who just became available skipped (SKIP LOCKED)
        # the call another dispatch held while finding no agent for it: both ended, and the
        # caller waited with the agent idle until the sweep.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCH_LOCK])
        waiting = (CallSession.objects.select_for_update(of=("self",)).select_related("client")
                   .filter(state=State.QUEUED).order_by("-priority", "queued_at", "pk")[:100])
        for session in waiting:
            presence = (eligible_agents(session).select_for_update(skip_locked=True, of=("self",)).first())
            if presence is None:
                continue
            now = timezone.now()
            # The offer's push is registered before the transition's queue push, so the
            # agent's screen hears first.
            transaction.on_commit(lambda s=session: live.push(live.agent_group(s.offered_to_id), offer_payload(s)))
            session = _transition(session, State.OFFERED, offered_to_id=presence.agent_id, offered_at=now,
                                  offer_expires_at=now + timedelta(seconds=timeout), record_after_commit=True)
            AgentPresence.objects.filter(pk=presence.pk).update(
                status=Status.OFFERED, since=now, reason=f"Offered a call for {session.client.name}.")
            offered.append(session)
        for session in offered:
            _schedule_offer_expiry(session, timeout)
    return offered


def _schedule_offer_expiry(session: CallSession, timeout: int) -> None:
    from answering.acd import tasks  # the tasks call these services: imported when first needed

    args = (session.pk, session.offered_to_id)
    transaction.on_commit(lambda: tasks.offer_expire_task.apply_async(args, countdown=timeout))


def _dispatch_soon() -> None:
    """Offer waiting calls now, right after the commit that made a call or an agent ready:
    in this process, because a hop through the broker adds tens of milliseconds to every
    offer. If that fails, a worker tries (and the periodic sweep after it)."""
    try:
        acd_dispatch()
    except Exception:
        logger.exception("dispatch after commit failed; handing it to a worker")
        from answering.acd import tasks  # the tasks call these services: imported when first needed

        try:
            tasks.acd_dispatch_task.delay()
        except Exception:  # the broker is down too: the periodic sweep will dispatch
            logger.exception("could not enqueue a dispatch; the sweep will catch up")
