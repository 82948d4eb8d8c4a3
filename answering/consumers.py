"""WebSocket consumers of answering: thin — authenticate, read in the client's schema, relay."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from answering import live, selectors
from answering.acd import consoles
from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.acd.selectors import agent_clients, agent_snapshot
from answering.acd.tasks import agent_console_gone_task
from answering.messages import services
from answering.metrics import wallboard_snapshot
from answering.scripts import appointments
from answering.selectors import knowledge_search
from calendars.services.booking import BookingRefused, SlotTaken
from campaigns.models import CallAttempt
from campaigns.screen import console_outbound
from campaigns.services import dispositions, preview
from tenants.selectors import client_list
from tenants.websocket import ClientConsumer

logger = logging.getLogger(__name__)
WALLBOARD_COALESCE_SECONDS = 0.1
APPOINTMENT_ACTIONS = ("appointment_slots", "appointment_hold", "appointment_book")


class PortalConsumer(ClientConsumer):
    """The client portal's live feed, on the client's own host, for that client's users."""

    def allows(self, user) -> bool:
        return self.client is not None

    def groups_for(self, user) -> list[str]:
        return [live.client_portal_group(self.client.schema_name)]

    def snapshot(self) -> dict:
        settings_row = selectors.answering_settings_get()
        return {
            "client": {"name": self.client.name, "slug": self.client.slug, "time_zone": self.client.time_zone},
            "greeting": settings_row.greeting if settings_row else "",
            "knowledge": [{"title": f.title, "body": f.body} for f in selectors.knowledge_fact_list()],
        }


class AgentConsumer(ClientConsumer):
    """An agent's console (platform host): status, offers, the current call, the queues of
    the clients they serve. Actions arrive as JSON: {"action": "status", "status": "available"},
    {"action": "accept", "call": 12}, {"action": "decline", "call": 12}.

    Campaign work (campaigns/): {"action": "mode", "mode": "outbound"}; on a connected
    campaign call {"action": "disposition", "call": 12, "code": "sale", "amount": "120",
    "notes": "", "callback_at": "2026-12-04T10:00", "callback_to": "me", "answers": {},
    "change": false}; in preview {"action": "preview_next"}, {"action": "preview_dial",
    "contact": 7, "client": "bobsplumbing"}, {"action": "preview_skip", "contact": 7,
    "client": "bobsplumbing", "reason": "…"}.

    A script's appointment step (answering/scripts/appointments.py): {"action":
    "appointment_slots", "call": 12, "step": "book", "type": "New patient", "after": {"start":
    "…", "calendar": 3}}, {"action": "appointment_hold", "call": 12, "step": "book", "type": "…",
    "calendar": 3, "start": "2026-12-08T14:00:00+00:00"}, {"action": "appointment_book", "call": 12,
    "step": "book", "hold": 41, "name": "…", "phone": "…", "email": "…", "answers": {…}}."""

    def allows(self, user) -> bool:
        return self.client is None and user.is_platform_user and hasattr(user, "agent_profile")

    def groups_for(self, user) -> list[str]:
        return [live.agent_group(user.pk), *(live.client_queue_group(c.schema_name) for c in agent_clients(user))]

    def snapshot(self) -> dict:
        # The mode, the modes allowed and the preview card ride along with every snapshot.
        return {**agent_snapshot(self.user), **console_outbound(self.user)}

    async def connect(self) -> None:
        await super().connect()
        if getattr(self, "user", None) is not None:
            await self.in_client_schema(consoles.opened, self.user.pk, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if getattr(self, "user", None) is not None:
            await self.in_client_schema(consoles.closed, self.user.pk, self.channel_name)
            await self.in_client_schema(
                lambda: agent_console_gone_task.apply_async((self.user.pk,), countdown=settings.CONSOLE_GRACE_SECONDS))

    async def receive_json(self, content: dict, **kwargs) -> None:
        action = content.get("action")
        if action == "status":
            await self.in_client_schema(lambda: acd.agent_status_set(agent=self.user, status=content.get("status")))
        elif action == "accept":
            taken = await self.in_client_schema(lambda: acd.call_accept(call_id=int(content["call"]), agent=self.user))
            if taken is None:
                await self.send_json({"type": "error", "message": "Someone else took that call, or the caller left."})
        elif action == "decline":
            await self.in_client_schema(lambda: acd.call_decline(call_id=int(content["call"]), agent=self.user))
        elif action == "draft":
            # Drafted as the agent types (debounced in the browser): no reply, no snapshot.
            await self.in_client_schema(self._call_action, action, content)
            return
        elif action == "knowledge_search" or action in APPOINTMENT_ACTIONS:
            # Their own reply and no snapshot: the step's slots and what the agent typed stay.
            reply = await self.in_client_schema(self._call_action, action, content)
            await self.send_json(reply)
            return
        elif action in ("script_next", "message_take", "finish"):
            reply = await self.in_client_schema(self._call_action, action, content)
            if reply is not None:
                await self.send_json(reply)
                if reply["type"] != "message_taken":
                    return
        elif action in ("mode", "disposition", "preview_next", "preview_dial", "preview_skip"):
            reply = await self.in_client_schema(self._campaign_action, action, content)
            if reply is not None:
                await self.send_json(reply)
        elif action in acd.CONTROL_ACTIONS:
            # The phone and call controls (answering/acd/services/controls.py): their own reply;
            # what they change reaches the console as pushes.
            reply = await self.in_client_schema(lambda: acd.call_control(agent=self.user, content=content))
            if reply is not None:
                await self.send_json(reply)
            return
        elif action != "snapshot":
            await self.send_json({"type": "error", "message": f"Unknown action {action!r}."})
            return
        # After every action, the whole truth: the screen never drifts from the database.
        await self._send_snapshot()

    async def push(self, event: dict) -> None:
        payload = event["payload"]
        if payload.get("type") == "connected" and payload.get("call") == self.shown_call:
            return  # this console accepted it and already showed the screen pop (a whole snapshot)
        if payload.get("type") in ("connected", "offer_withdrawn", "agent", "call_changed"):
            await self._send_snapshot()
        else:
            await self.send_json(payload)

    shown_call: int | None = None

    async def _send_snapshot(self) -> None:
        snapshot = await self.in_client_schema(self.snapshot)
        self.shown_call = snapshot["call"]["call"] if snapshot.get("call") else None
        await self.send_json({"type": "snapshot", **snapshot})

    def _campaign_action(self, action: str, content: dict) -> dict | None:
        """The agent's campaign work: their mode, a campaign call's disposition, preview.
        Errors come back as sentences; the snapshot that follows shows the rest."""
        try:
            if action == "mode":
                acd.agent_mode_set(agent=self.user, mode=str(content.get("mode", "")))
                return None
            if action == "disposition":
                return self._disposition(content)
            if action == "preview_next":
                if preview.preview_next(agent=self.user) is None:
                    return {"type": "preview_none", "message": "No contact to preview now."}
                return None
            contact_id, client = _int(content.get("contact")), content.get("client") or None
            if contact_id is None:
                return {"type": "preview_error", "message": "Which contact? The card is out of date: take the next one."}
            if action == "preview_dial":
                attempt = preview.preview_dial(agent=self.user, contact_id=contact_id, client=client)
                return {"type": "preview_dialing", "contact": contact_id, "attempt": attempt.pk,
                        "number": str(attempt.number)}
            preview.preview_skip(agent=self.user, contact_id=contact_id, client=client,
                                 reason=str(content.get("reason", ""))[:200])
            return None
        except (ValueError, preview.PreviewRefused) as exc:
            # Preview's words go on the preview card (the status line is the presence's).
            return {"type": "preview_error" if action.startswith("preview") else "error", "message": str(exc)}

    def _disposition(self, content: dict) -> dict:
        session = CallSession.objects.select_related("client").filter(
            pk=_int(content.get("call")) or 0, agent=self.user, direction=CallSession.Direction.OUTBOUND).first()
        if session is None or not session.attempt_id:
            return {"type": "error", "message": "That is not your campaign call."}
        answers = content.get("answers") or {}
        with schema_context(session.client.schema_name):
            attempt = CallAttempt.objects.filter(pk=session.attempt_id).first()
            if attempt is None:
                return {"type": "error", "message": "This call's attempt is gone from the campaign."}
            try:
                attempt = dispositions.attempt_disposition(
                    attempt=attempt, agent=self.user, code=str(content.get("code", "")), amount=content.get("amount"),
                    notes=str(content.get("notes", "")), callback_at=content.get("callback_at") or None,
                    callback_to=str(content.get("callback_to") or "me"),
                    answers=answers if isinstance(answers, dict) else {}, change=bool(content.get("change")))
            except ValidationError as exc:
                return {"type": "disposition_errors", "call": session.pk, "errors": exc.message_dict}
            code = attempt.disposition.code if attempt.disposition_id else ""
        return {"type": "disposed", "call": session.pk, "code": code}

    def _call_action(self, action: str, content: dict) -> dict | None:
        """A step of the agent's work on their current call, run in that call's client schema."""
        session = CallSession.objects.select_related("client").filter(
            pk=int(content.get("call", 0)), agent=self.user).first()
        if session is None:
            return {"type": "error", "message": "That is not your call."}
        answers = content.get("answers") or {}
        if not isinstance(answers, dict):
            return {"type": "error", "message": "Answers come as a mapping of field to answer."}
        with schema_context(session.client.schema_name):
            if action == "knowledge_search":
                found = knowledge_search(query=str(content.get("query", ""))[:200], limit=20)
                return {"type": "knowledge", "call": session.pk, "query": content.get("query", ""),
                        "results": [{"title": f.title, "body": f.body} for f in found]}
            if action == "draft":
                services.call_draft_save(session=session, draft=content)
                return None
            if action in APPOINTMENT_ACTIONS:
                return self._appointment(session, action, content)
            if action == "script_next":
                try:
                    nxt = services.call_script_next(session=session, step=str(content.get("step", "")),
                                                    answers=answers, trail=content.get("trail") or [])
                except KeyError:
                    return {"type": "error", "message": "That step is not in this call's script."}
                except ValueError:  # a branch question left unanswered: ask it, don't fail
                    return {"type": "error", "message": "Answer this step's question to go on."}
                if nxt.errors:  # said at this step, not at Save
                    return {"type": "step_errors", "step": nxt.step, "errors": nxt.errors}
                return {"type": "script_next", "from": nxt.step, "step": nxt.next_step, "end": nxt.end}
            if action == "message_take":
                try:
                    message = services.call_message_take(session=session, agent=self.user, answers=answers)
                except ValidationError as exc:
                    return {"type": "message_errors", "errors": exc.message_dict}
                except services.CallFinishRefused as exc:
                    return {"type": "error", "message": str(exc)}
                return {"type": "message_taken", "message": message.pk}
            try:
                services.call_finish(session=session, agent=self.user, disposition=content.get("disposition", ""),
                                     answers=answers)
            except services.CallFinishRefused as exc:
                return {"type": "error", "message": str(exc)}
            # A slot held and never booked is free again the moment the agent is done.
            appointments.call_holds_release(session=session, by=self.user.email)
        return None

    def _appointment(self, session: CallSession, action: str, content: dict) -> dict:
        """The call's appointment step, in its client schema: slots, hold, book. Refusals come
        back as sentences (by field for the booking's details)."""
        step = str(content.get("step", ""))[:80]
        base = {"call": session.pk, "step": step}
        try:
            if action == "appointment_slots":
                return appointments.call_appointment_offer(session=session, agent=self.user, step=step,
                                                           type_name=str(content.get("type") or ""),
                                                           after=content.get("after"))
            if action == "appointment_hold":
                start = _when(content.get("start"))
                if start is None:
                    return {"type": "appointment_error", **base, "message": "Which slot? Pick one of those shown."}
                hold = appointments.call_appointment_hold(session=session, agent=self.user, step=step,
                                                          type_name=str(content.get("type") or ""),
                                                          calendar_id=_int(content.get("calendar")) or 0, start=start)
                return {"type": "appointment_held", **base, "hold": appointments.hold_payload(hold)}
            appointment = appointments.call_appointment_book(
                session=session, agent=self.user, step=step, hold_id=_int(content.get("hold")),
                name=content.get("name"), phone=content.get("phone"), email=content.get("email"),
                answers=content.get("answers") or {})
            return {"type": "appointment_booked", **base, "booked": appointments.booked_payload(appointment)}
        except SlotTaken as exc:
            held = appointments.call_holds(session)
            return appointments.taken_payload(session=session, step=step, exc=exc, hold=held[0] if held else None)
        except ValidationError as exc:
            return {"type": "appointment_errors", **base, "errors": exc.message_dict}
        except (appointments.AppointmentRefused, BookingRefused) as exc:
            return {"type": "appointment_error", **base, "message": str(exc)}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _when(value) -> dt.datetime | None:
    """An instant the console sends back (a slot's ``start``); None unless ISO with its offset."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


class WallboardConsumer(ClientConsumer):
    """Supervisors' wallboard (platform host): every client's queue and today's figures, live."""

    def allows(self, user) -> bool:
        return self.client is None and user.role in ("supervisor", "platform_admin")

    def groups_for(self, user) -> list[str]:
        return [live.SUPERVISORS_GROUP, *(live.client_queue_group(c.schema_name) for c in client_list())]

    def snapshot(self) -> dict:
        return wallboard_snapshot()

    # Every queue, agent and alert push asks for a redraw; the changes of one moment (a call
    # accepted: its queue and its agent) share one snapshot, read after the last of them.
    redraw: asyncio.Task | None = None
    stale = False

    async def push(self, event: dict) -> None:
        self.stale = True
        if self.redraw is None or self.redraw.done():
            self.redraw = asyncio.ensure_future(self._redraw())

    async def _redraw(self) -> None:
        try:
            while self.stale:
                await asyncio.sleep(WALLBOARD_COALESCE_SECONDS)
                self.stale = False  # a push during the read below marks it stale again: one more round
                await self.send_json({"type": "snapshot", **(await self.in_client_schema(self.snapshot))})
        except Exception:  # the socket closed meanwhile: the next connect sends a fresh snapshot
            logger.info("wallboard redraw dropped", exc_info=True)

    async def receive_json(self, content: dict, **kwargs) -> None:
        """{"action": "snapshot"}: the wallboard asks now and then (the day turns; a push may be lost)."""
        if content.get("action") == "snapshot":
            await self.send_json({"type": "snapshot", **(await self.in_client_schema(self.snapshot))})

    async def disconnect(self, code: int) -> None:
        if self.redraw is not None:
            self.redraw.cancel()
        await super().disconnect(code)
