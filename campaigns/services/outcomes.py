"""What happens to a placed attempt: answered, detected (person or machine), connected to an
agent or abandoned with the safe-harbour message, a voicemail drop, and how it ended —
with the contact's next step (a retry by outcome, exhausted, done).

Called from Twilio's webhooks for the attempt (``/twilio/outbound/<schema>/<attempt>/…``),
inside the client's schema. Each verb is safe to repeat: the webhook layer answers a
retried request with its first answer, and a late or repeated status changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from twilio.twiml.voice_response import VoiceResponse

from answering import live
from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.acd.services.states import _sync_record
from answering.flow.selectors import spoken
from answering.messages.texts import twilio_url
from answering.twilio import gateway, twiml
from campaigns.models import CallAttempt, Campaign, Contact
from compliance.rules import Channel
from compliance.services import contact_decide
from tenants.models import AgentProfile, Client

logger = logging.getLogger("switchboard.dialer")

O = CallAttempt.Outcome
Status = AgentPresence.Status
HOLD_FOR_DETECTION_SECONDS = 30  # Twilio's detection gives up by then; we connect as a person

# Twilio's final CallStatus → our outcome, for calls nobody answered.
_UNANSWERED = {"busy": O.BUSY, "no-answer": O.NO_ANSWER, "failed": O.FAILED, "canceled": O.NO_ANSWER}
_FINAL = {"completed", "busy", "no-answer", "failed", "canceled"}
_ORDER = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3,
          "completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
_PERMANENT_NUMBER_CODES = {21211, 21214, 21217}  # the number cannot be called at all


def attempt_for(attempt_id: int) -> CallAttempt | None:
    return CallAttempt.objects.select_related("campaign", "contact").filter(pk=attempt_id).first()


# --- Answered: hold the callee silently until the detection's answer --------------------------

def attempt_answered(*, attempt: CallAttempt, client: Client, call_sid: str) -> VoiceResponse:
    """The callee picked up (Twilio asks the call's URL). With detection on, they hear nothing
    until it answers (a person's greeting, or a machine's beep); without it, they are a person."""
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk, answered_at__isnull=True).update(answered_at=now)
    CallAttempt.objects.filter(pk=attempt.pk, twilio_sid="").update(twilio_sid=call_sid)
    attempt.refresh_from_db()
    if attempt.outcome != O.PENDING:
        return twiml.hangup()
    if attempt.campaign.amd:
        vr = VoiceResponse()
        vr.pause(length=HOLD_FOR_DETECTION_SECONDS)
        vr.redirect(twilio_url("twilio_outbound_undetected", client.schema_name, attempt.pk), method="POST")
        return vr
    return _person(attempt, client, redirect=False)


def attempt_detected(*, attempt: CallAttempt, client: Client, answered_by: str) -> None:
    """Twilio's asynchronous detection answered: a person (or unknown: treated as one) gets an
    agent or the safe-harbour message at once; a machine, after its beep, the voicemail drop
    where lawful, else a hang-up."""
    CallAttempt.objects.filter(pk=attempt.pk).update(answered_by=answered_by[:24])
    attempt.refresh_from_db()
    if attempt.outcome != O.PENDING:
        return
    if answered_by in ("human", "unknown", ""):
        _person(attempt, client, redirect=True)
    elif answered_by.startswith("machine_end") or answered_by == "fax":
        _machine(attempt, client, fax=answered_by == "fax")
    # machine_start: only sent without DetectMessageEnd; the end event follows.


def attempt_undetected(*, attempt: CallAttempt, client: Client) -> VoiceResponse:
    """The hold ran out with no detection answer: treat the callee as a person."""
    attempt.refresh_from_db()
    if attempt.outcome != O.PENDING:
        return twiml.hangup()
    return _person(attempt, client, redirect=False)


def _agent_for(attempt: CallAttempt, client: Client) -> AgentPresence | None:
    """The agent who takes a person-answered call: the attempt's own agent (preview, or a
    callback booked to them) when ready, else the longest-idle available outbound or blended
    agent serving the client (and the campaign, if it names its agents). Locked, skipping
    agents another connection is assigning right now."""
    serving = (AgentPresence.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(agent__is_active=True, agent__agent_profile__clients=client.pk))
    base = serving.filter(status=Status.AVAILABLE)
    if attempt.agent_id:
        # A preview agent waits for their own call as "offered" (dialer.attempt_place).
        own = serving.filter(agent_id=attempt.agent_id, status__in=[Status.AVAILABLE, Status.OFFERED]).first()
        if own is not None or attempt.mode == Campaign.Mode.PREVIEW:
            return own
    pool = base.filter(mode__in=[AgentProfile.Mode.OUTBOUND, AgentProfile.Mode.BLENDED])
    if attempt.campaign.agent_ids:
        pool = pool.filter(agent_id__in=attempt.campaign.agent_ids)
    return pool.order_by("idle_since", "agent_id").first()


def _person(attempt: CallAttempt, client: Client, *, redirect: bool) -> VoiceResponse:
    """Connect a person to an agent now, or play the safe-harbour message (abandoned)."""
    now = timezone.now()
    session = None
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.outcome != O.PENDING:
            return twiml.hangup()
        for _ in range(3):  # an agent who just took another call is refused by the database: next one
            presence = _agent_for(locked, client)
            if presence is None:
                break
            try:
                with transaction.atomic():
                    session = CallSession.objects.create(
                        call_sid=locked.twilio_sid, account_sid=getattr(attempt, "account_sid", ""), client=client,
                        direction=CallSession.Direction.OUTBOUND, from_number=locked.number,
                        to_number=locked.caller_id, state=CallSession.State.CONNECTED, agent_id=presence.agent_id,
                        arrived_at=locked.started_at, answered_at=now, attempt_id=locked.pk)
                    AgentPresence.objects.filter(pk=presence.pk).update(
                        status=Status.ON_CALL, since=now, missed_offers=0,
                        reason=f"Outbound call for {client.name}: {attempt.campaign.name}.")
            except IntegrityError:
                session = None
                continue
            break
        if session is None:
            _settle(locked, O.ABANDONED, now, detail="A person answered and no agent was free: "
                                                      "the safe-harbour message played.")
            vr = twiml.say_then_hangup([spoken(safe_harbour_text(attempt.campaign, client), "en")])
            if redirect:
                sid, account = locked.twilio_sid, getattr(attempt, "account_sid", "")
                transaction.on_commit(lambda: _redirect(sid, twilio_url("twilio_outbound_harbour", client.schema_name,
                                                                        locked.pk), account))
            return vr
        CallAttempt.objects.filter(pk=locked.pk).update(outcome=O.LIVE_ANSWERED, connected_at=now,
                                                        agent_id=session.agent_id)
        _sync_record(session)
        agent_id = session.agent_id
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {
            "type": "connected", "call": session.pk, "call_sid": session.call_sid}))
        transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {
            "type": "agent", "agent": agent_id, "status": Status.ON_CALL}))
        if redirect:
            url, sid, account = acd.connect_url(session), session.call_sid, session.account_sid
            transaction.on_commit(lambda: _redirect(sid, url, account))
    if redirect:
        return twiml.empty()
    from answering.flow import ivr

    return ivr.connect(session)


def _redirect(call_sid: str, url: str, account_sid: str) -> None:
    try:
        gateway.get().call_redirect(call_sid, url, account_sid=account_sid)
    except gateway.GatewayError as exc:
        logger.warning("could not redirect outbound call %s: %s", call_sid, exc)


def safe_harbour_text(campaign: Campaign, client: Client) -> str:
    """The message a person hears when no agent is free within 2 seconds: who called, a number
    to call back, how to opt out (COMPLIANCE.md, abandoned calls)."""
    if campaign.safe_harbour_text.strip():
        return campaign.safe_harbour_text
    callback = _callback_number(campaign, client)
    return (f"Hello, this is {client.name}. We are sorry we missed you. Please call us back at {callback}. "
            f"To stop receiving our calls, call that number and ask to be put on our do-not-call list.")


def _callback_number(campaign: Campaign, client: Client) -> str:
    """The number a message asks people to call back, spelt for the voice."""
    return _spell(campaign.caller_id or (client.phone_numbers.values_list("number", flat=True).first() or ""))


def _spell(number: str) -> str:
    digits = number.removeprefix("+1")
    if len(digits) == 10:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return number


# --- A machine: the drop after the beep, where lawful ---------------------------------------

def voicemail_text(campaign: Campaign, client: Client) -> str:
    if campaign.voicemail_text.strip():
        return campaign.voicemail_text
    callback = _callback_number(campaign, client)
    return f"Hello, this is {client.name} calling. Please call us back at {callback}. Thank you."


def _machine(attempt: CallAttempt, client: Client, *, fax: bool) -> None:
    campaign = attempt.campaign
    now = timezone.now()
    drop = campaign.voicemail_drop != Campaign.Drop.NONE and not fax
    detail = "An answering machine: hung up."
    if drop:
        # A recorded or artificial voice message is a prerecorded call in the law's eyes: the
        # gate decides it again, with that channel (consent for telemarketing, hours).
        decision = contact_decide(client=client, number=attempt.number, purpose=campaign.purpose,
                                  channel=Channel.PRERECORDED, campaign=campaign, asked_by=f"dialer:{campaign.pk}:drop")
        if not decision.allowed:
            drop = False
            detail = "An answering machine: no message left (" + "; ".join(r.text for r in decision.denials)[:200] + ")"
        else:
            detail = "An answering machine: the voicemail message was left after the beep."
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.outcome != O.PENDING:
            return
        _settle(locked, O.MACHINE, now, detail=("Fax. " if fax else "") + detail)
        sid, account = locked.twilio_sid, getattr(attempt, "account_sid", "")
        if drop:
            url = twilio_url("twilio_outbound_drop", client.schema_name, locked.pk)
            transaction.on_commit(lambda: _redirect(sid, url, account))
        else:
            transaction.on_commit(lambda: _end(sid, account))


def _end(call_sid: str, account_sid: str) -> None:
    try:
        gateway.get().call_end(call_sid, account_sid=account_sid)
    except gateway.GatewayError as exc:
        logger.warning("could not end outbound call %s: %s", call_sid, exc)


def drop_twiml(*, attempt: CallAttempt, client: Client) -> VoiceResponse:
    campaign = attempt.campaign
    if campaign.voicemail_drop == Campaign.Drop.RECORDED and campaign.voicemail_audio_url:
        return twiml.say_then_hangup([twiml.Spoken(audio_url=campaign.voicemail_audio_url)])
    return twiml.say_then_hangup([spoken(voicemail_text(campaign, client), "en")])


def harbour_twiml(*, attempt: CallAttempt, client: Client) -> VoiceResponse:
    return twiml.say_then_hangup([spoken(safe_harbour_text(attempt.campaign, client), "en")])


# --- How it ended --------------------------------------------------------------------------

def attempt_status(*, attempt: CallAttempt, status: str, sequence: int | None, call_sid: str = "",
                   duration: int | None = None, error_code: str = "") -> None:
    """A status callback for the attempt's call (or text). In order by SequenceNumber; a final
    one settles the attempt (if nothing did yet) and, for a connected call, ends the agent's
    call like an inbound caller hanging up (wrap-up follows)."""
    if status not in _ORDER and status not in ("sent", "delivered", "undelivered"):
        logger.warning("outbound status %r for attempt %s ignored", status[:40], attempt.pk)
        return
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        if sequence is not None and sequence <= locked.last_sequence:
            return
        if locked.twilio_status in _FINAL or locked.twilio_status in ("delivered", "undelivered"):
            return
        if sequence is None and _ORDER.get(status, 0) < _ORDER.get(locked.twilio_status, -1):
            return
        CallAttempt.objects.filter(pk=locked.pk).update(
            twilio_status=status, last_sequence=sequence if sequence is not None else locked.last_sequence,
            twilio_sid=locked.twilio_sid or call_sid)
        locked.twilio_status = status
        if locked.channel == Channel.SMS:
            if status in ("sent", "delivered") and locked.outcome == O.PENDING:
                _settle(locked, O.SMS_SENT, timezone.now(), detail="Text sent.")
            elif status in ("failed", "undelivered") and locked.outcome in (O.PENDING, O.SMS_SENT):
                _settle(locked, O.SMS_FAILED, timezone.now(), detail=f"Text not delivered ({error_code or status}).",
                        force=True)
            return
        if status in _FINAL:
            _finished(locked, status)
    if status in _FINAL:
        session = CallSession.objects.filter(call_sid=locked.twilio_sid or call_sid).first()
        if session is not None:
            acd.call_status_update(session=session, status=status, sequence=sequence)


def attempt_finished(*, attempt: CallAttempt, status: str, detail: str = "") -> None:
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        _finished(locked, status, detail=detail)


def _finished(locked: CallAttempt, status: str, *, detail: str = "") -> None:
    now = timezone.now()
    CallAttempt.objects.filter(pk=locked.pk, ended_at__isnull=True).update(ended_at=now)
    if locked.outcome != O.PENDING:
        if locked.outcome == O.LIVE_ANSWERED and locked.disposition_id is None:
            pass  # the agent dispositions it in wrap-up; the contact waits for that
        return
    if status == "completed":
        # Answered, but neither a person connected nor a machine detected: the callee hung up
        # during their greeting (or the detection never answered). Not a live answer.
        outcome, text = O.NO_ANSWER, detail or "Answered, then hung up before anyone spoke."
    else:
        outcome = _UNANSWERED.get(status, O.FAILED)
        text = detail or {"busy": "Busy.", "no-answer": "No answer.", "canceled": "Canceled before it was answered.",
                          "failed": "The call failed (number not in service or unreachable)."}.get(status, status)
    _settle(locked, outcome, now, detail=text)


def _settle(attempt: CallAttempt, outcome: str, now: dt.datetime, *, detail: str, force: bool = False) -> None:
    """Write the attempt's outcome and the contact's next step: a retry after the campaign's
    wait for that outcome while attempts are left, else exhausted."""
    updated = CallAttempt.objects.filter(pk=attempt.pk, **({} if force else {"outcome": O.PENDING})).update(
        outcome=outcome, detail=detail[:300])
    if updated and attempt.agent_id and attempt.mode == Campaign.Mode.PREVIEW:
        _preview_agent_free(attempt.agent_id, detail)
    if not updated or attempt.contact_id is None:
        return
    attempt.outcome = outcome
    contact = Contact.objects.select_for_update().filter(pk=attempt.contact_id).first()
    if contact is None or contact.status not in (Contact.Status.IN_FLIGHT, *Contact.DIALABLE):
        return
    campaign = attempt.campaign
    fields = {"last_outcome": outcome, "updated": now}
    wait = campaign.retry_minutes(outcome)
    if outcome in (O.SMS_SENT,):
        fields.update(status=Contact.Status.DONE)
    elif wait is not None and contact.attempts < campaign.max_attempts:
        fields.update(status=Contact.Status.RETRY, next_attempt_at=now + dt.timedelta(minutes=wait))
    elif outcome == O.LIVE_ANSWERED:
        return
    else:
        fields.update(status=Contact.Status.EXHAUSTED, next_attempt_at=None)
    Contact.objects.filter(pk=contact.pk).update(**fields)


def _preview_agent_free(agent_id: int, detail: str) -> None:
    """The preview agent's call was not a live answer: they are available again."""
    freed = AgentPresence.objects.filter(agent_id=agent_id, status=Status.OFFERED, reason__startswith="Dialing").update(
        status=Status.AVAILABLE, since=timezone.now(), reason=f"Your call: {detail}"[:200])
    if freed:
        transaction.on_commit(lambda: live.push(live.agent_group(agent_id), {"type": "call_changed"}))


def attempt_not_placed(*, attempt: CallAttempt) -> None:
    """The sweep found no call for a pending attempt (the worker died before Twilio had it):
    it never rang, so the contact gets its attempt back and is dialable again now."""
    with transaction.atomic():
        updated = CallAttempt.objects.filter(pk=attempt.pk, outcome=O.PENDING, twilio_sid="").update(
            outcome=O.NOT_PLACED, ended_at=timezone.now(), detail="Not placed: the dialer stopped before Twilio had it.")
        if updated and attempt.contact_id:
            contact = Contact.objects.select_for_update().get(pk=attempt.contact_id)
            if contact.status == Contact.Status.IN_FLIGHT:
                Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.RETRY, next_attempt_at=None,
                                                             attempts=max(0, contact.attempts - 1))


def attempt_failed_to_place(*, attempt: CallAttempt, reason: str, code: int | None) -> None:
    """Twilio refused the call for good (an invalid number, a blocked destination)."""
    with transaction.atomic():
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        CallAttempt.objects.filter(pk=locked.pk).update(ended_at=timezone.now())
        _settle(locked, O.FAILED, timezone.now(), detail=reason)
        if code in _PERMANENT_NUMBER_CODES and locked.contact_id:
            Contact.objects.filter(pk=locked.contact_id).update(status=Contact.Status.BLOCKED, reason=reason[:300])

