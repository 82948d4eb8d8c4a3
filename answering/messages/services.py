"""Taking messages: from an agent's script, from a voicemail, from a text; and the agent
ending their part of a call. In the client's schema."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.messages.acknowledge import sms_acknowledge
from answering.messages.delivery import message_deliver
from answering.models import CallRecord, InboundSMS, Message
from answering.scripts.answers import script_answers_clean, script_answers_taken, step_answers_clean
from answering.scripts.rendering import script_next_step
from answering.scripts.selectors import current_client_time_zone
from answering.twilio import gateway
from compliance.rules import OptOutSource
from compliance.services import inbound_sms_handle, opt_out_record
from tenants.models import Client
from tenants.phone import to_e164


def inbound_sms_receive(*, client: Client, message_sid: str, from_number: str, to_number: str, body: str,
                        num_media: int = 0, twilio_replied: bool = False) -> str | None:
    """Store a text received on one of the client's numbers and act on opt-out, re-subscribe
    and help keywords (the compliance gate's); return the reply to send, if any.

    Idempotent by MessageSid: a retried webhook stores nothing twice and confirms nothing twice.
    """
    with transaction.atomic():
        _, created = InboundSMS.objects.get_or_create(
            message_sid=message_sid,
            defaults={"from_number": from_number, "to_number": to_number, "body": body, "num_media": num_media},
        )
        if not created:
            return None
        reply = inbound_sms_handle(client=client, from_number=from_number, body=body)
        if reply is None and not twilio_replied:
            # Not a compliance keyword: perhaps C or R answering an appointment's reminder …
            from calendars.services.notices import notice_reply

            answer = notice_reply(client=client, from_number=from_number, body=body)
            if answer is not None:
                return answer
            # … or someone we texted acknowledging a message.
            return sms_acknowledge(from_number=from_number, body=body, client=client)
    # With Twilio's Advanced Opt-Out on, Twilio has already confirmed the keyword: one text at most.
    return None if twilio_replied else reply


def message_take(*, version, answers: dict, agent=None, caller: str = "", call_sid: str = "", language: str = "en",
                 urgency: str | None = None, category: str | None = None, partial: bool = False):
    """Validate ``answers`` against the fields of script ``version`` and commit the message.

    Only the fields on the path the answers take through the script are checked (a required
    field on a branch not taken is not required). Raises ``ValidationError`` whose
    ``message_dict`` holds the errors per field name; then nothing is written. Urgency and
    category come from the script's end action unless given. The callback number is the
    ``callback_number`` field, else the first phone field, else the caller.

    With ``partial`` (the caller hung up mid-script) what was taken is saved: a missing answer
    is no error, a malformed one still is (``script_answers_taken``).

    Idempotent by ``call_sid``: committing again for the same call returns the first message.
    Returns an ``answering.models.Message``, committed when this returns.
    """
    if call_sid:
        existing = Message.objects.filter(call_sid=call_sid).first()
        if existing is not None:
            return existing
    clean = script_answers_taken if partial else script_answers_clean
    cleaned = clean(version=version, answers=answers, time_zone=current_client_time_zone())
    if cleaned.errors:
        raise ValidationError(cleaned.errors)
    if cleaned.end is None:
        raise ValidationError({"__all__": ["The answers do not reach the end of the script."]})
    try:
        caller = to_e164(caller) if caller else ""
    except ValidationError:
        pass  # a withheld or odd caller ID is kept as Twilio gave it
    phone_fields = [f["name"] for s in version.definition["steps"] for f in s["fields"] if f["type"] == "phone"]
    callback = cleaned.values.get("callback_number") or next(
        (cleaned.values[name] for name in phone_fields if name in cleaned.values), caller)
    end = cleaned.end
    try:
        with transaction.atomic():
            message = Message.objects.create(
                caller=caller, callback_number=callback,
                caller_name=str(cleaned.values.get("caller_name") or cleaned.values.get("name") or "")[:120],
                fields=cleaned.values, urgency=urgency or (end.urgency if end.urgency in ("normal", "urgent") else "normal"),
                category=category if category is not None else end.category, end_action=end.action,
                language=language, script_version=version, call_sid=call_sid,
                call=CallRecord.objects.filter(call_sid=call_sid).first() if call_sid else None, agent=agent,
            )
            # Delivery is planned in the same transaction (the outbox): nothing is sent
            # before the message is committed, and nothing planned is lost after.
            message_deliver(message=message)
            if end.action == "callback":
                # The caller asked to be called back: a follow-up in the client's callbacks
                # campaign, committed with the message, dialed through the gate.
                from campaigns.services.followups import followup_create

                followup_create(number=callback, reason=f"Asked to be called back: {message.category or 'call'}"
                                f"{' — ' + message.caller_name if message.caller_name else ''}.",
                                source_call_sid=call_sid, first_name=message.caller_name, fields=cleaned.values)
            return message
    except IntegrityError:
        # The same call committed at the same moment from a retried request: one message.
        return Message.objects.get(call_sid=call_sid)


def voicemail_message_take(*, session, record, recording_sid: str, duration: int | None):
    """A caller's voicemail becomes a message (once per call) and is delivered like one:
    urgent when the caller chose the emergency option."""
    with transaction.atomic():
        message, created = Message.objects.get_or_create(
            call_sid=session.call_sid,
            defaults={"caller": session.from_number, "callback_number": session.from_number, "call": record,
                      "source": Message.Source.VOICEMAIL, "recording_sid": recording_sid, "language": session.language,
                      "urgency": Message.Urgency.URGENT if session.priority == CallSession.Priority.EMERGENCY
                      else Message.Urgency.NORMAL, "category": "voicemail",
                      "fields": {"voicemail": f"{duration or 0} s recording"}})
        if created:
            message_deliver(message=message, client=session.client)
    return message


class CallFinishRefused(Exception):
    """The agent may not end this call yet (e.g. the script's message is not taken)."""


def call_message_take(*, session, agent, answers: dict):
    """Take the script's message for a live call: committed here, before the agent may end it.
    For a caller who hung up mid-script, what was taken is saved, and the wrap-up countdown,
    which waited for it, starts."""
    version = acd.call_script_pin(session)
    if version is None:
        raise CallFinishRefused("This call has no script to take a message with.")
    message = message_take(version=version, answers=answers, agent=agent, caller=session.from_number,
                           call_sid=session.call_sid, language=session.language, partial=session.caller_hung_up)
    CallRecord.objects.filter(call_sid=session.call_sid).update(draft={})  # saved: the draft has done its work
    acd.wrap_up_start(session_id=session.pk)
    acd.timeline_flush(session)  # a patch's outcome, kept on the call until its message existed
    return message


def call_finish(*, session, agent, disposition: str, answers: dict | None = None) -> None:
    """The agent ends their part of the call with a disposition. Refused while the path the
    answers take through the script ends in a message not yet committed; hangs up the
    caller if still connected."""
    if session.agent_id != agent.pk:
        raise CallFinishRefused("This is not your call.")
    version = acd.call_script_pin(session)
    end = _end_reached(version, answers or {}) if version is not None else None
    # A dispatch hands the caller's details to the on-call person: they must be saved too.
    needs_message = (end is None or end.action in ("message", "dispatch", "callback")) if version is not None else False
    needs_message = needs_message and disposition not in ("do_not_call", "wrong_number")
    if needs_message and not Message.objects.filter(call_sid=session.call_sid).exists():
        raise CallFinishRefused("Take the message first: it must be saved before the call ends.")
    CallRecord.objects.filter(call_sid=session.call_sid).update(disposition=disposition[:40])
    if disposition == "do_not_call":
        # The caller asked not to be called: an opt-out like any other, effective at once.
        opt_out_record(client=session.client, number=session.from_number, source=OptOutSource.AGENT,
                       added_by=f"agent {agent.email}", reason=f"disposition on call {session.call_sid}")
    if session.state == CallSession.State.CONNECTED:
        sid, account = session.call_sid, session.account_sid  # the (sub)account that owns the call
        transaction.on_commit(lambda: gateway.get().call_end(sid, account_sid=account))
    else:  # the caller had hung up: the wrap-up that waited for the agent counts down now
        acd.wrap_up_start(session_id=session.pk)


def call_draft_save(*, session, draft: dict) -> None:
    """Keep the agent's answers so far on the call's record (the client's data, in its
    schema): where they are in the script, the steps behind them (for Back), the answers.
    A reload or the agent's second console resumes from it. Not once the message is saved."""
    answers = draft.get("answers") if isinstance(draft.get("answers"), dict) else {}
    kept = {"step": str(draft.get("step") or "")[:80], "trail": [str(t)[:80] for t in (draft.get("trail") or [])][:50],
            "answers": {str(k)[:80]: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                        for k, v in list(answers.items())[:100]},
            "end": draft.get("end") if isinstance(draft.get("end"), dict) else None}
    if Message.objects.filter(call_sid=session.call_sid).exists():
        return
    CallRecord.objects.filter(call_sid=session.call_sid).update(draft=kept)


@dataclass(frozen=True)
class ScriptNext:
    """Where the agent's Next leads: this step's errors (said at this step, not at Save), or
    the next step, or the script's end (as the console and the draft keep it)."""
    step: str
    errors: dict[str, list[str]]
    next_step: str | None = None
    end: dict | None = None


def call_script_next(*, session, step: str, answers: dict, trail: list) -> ScriptNext:
    """The agent's Next on the call's script: this step's answers checked as Save checks
    them; when they pass, the draft moves on with them (``trail``: the steps behind, for
    Back). Raises KeyError for a step not in the call's script, ValueError for a branch
    question left unanswered."""
    version = acd.call_script_pin(session)
    values, errors = step_answers_clean(version=version, step=step, answers=answers,
                                        time_zone=session.client.time_zone)
    if errors:
        return ScriptNext(step=step, errors=errors)
    nxt = script_next_step(version=version, step=step, answers={**answers, **values})
    end = None if nxt.end is None else {"action": nxt.end.action, "urgency": nxt.end.urgency,
                                        "category": nxt.end.category, "transfer_to": nxt.end.transfer_to}
    trail = [str(t) for t in trail or []][:50]
    call_draft_save(session=session, draft={"step": nxt.step or step, "trail": [*trail, step] if nxt.step else trail,
                                            "answers": answers, "end": end})
    return ScriptNext(step=step, errors={}, next_step=nxt.step, end=end)


def _end_reached(version, answers: dict):
    """Follow the script from its first step with ``answers``; the end action reached, or
    None when the answers stop short of an end (then a message is owed)."""
    definition = version.definition
    step = definition["first_step"] if "first_step" in definition else definition["steps"][0]["key"]
    for _ in range(len(definition["steps"]) + 1):
        try:
            nxt = script_next_step(version=version, step=step, answers=answers)
        except ValueError:  # an unanswered branch question: the answers stop short here
            return None
        if nxt.end is not None:
            return nxt.end
        if nxt.step is None:
            return None
        step = nxt.step
    return None
