"""Work the ACD from the command line: set an agent's status, accept or decline offers, show queues."""

from __future__ import annotations

import datetime as dt
import json
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import LIVE_STATES, AgentPresence, CallSession
from answering.messages.services import CallFinishRefused, call_finish, call_message_take
from tenants.models import User


class Command(BaseCommand):
    help = ("Act as an agent from the command line (the demo, scripts, tests): `agent ana@switchboard.example available`, "
            "`agent ana@... accept` (waits for an offer and takes it), `agent ana@... decline`, `agent - queues`.")

    def add_arguments(self, parser):
        parser.add_argument("email", help="the agent's email ('-' for the queues command)")
        parser.add_argument("action", choices=["available", "break", "offline", "accept", "decline", "book", "finish",
                                               "queues"])
        parser.add_argument("--wait", type=float, default=120, help="accept: seconds to wait for an offer")
        parser.add_argument("--answers", default="{}",
                            help='finish: the script\'s answers as JSON, e.g. \'{"in_danger": "yes", "address": "1 Main St"}\'')
        parser.add_argument("--disposition", default="resolved", help="finish: the call's disposition")
        parser.add_argument("--type", default="", help="book: the appointment type (default: the step's first)")
        parser.add_argument("--mode", choices=["inbound", "outbound", "blended"],
                            help="available: work in this mode (within what the agent's profile allows)")

    def handle(self, *args, email, action, wait, answers, disposition, mode=None, type="", **options):
        if action == "queues":
            for session in CallSession.objects.filter(state__in=LIVE_STATES).select_related("client"):
                self.stdout.write(f"{session.client.name:<30} {session.from_number:<14} {session.state:<10} "
                                  f"waited {round(session.wait_seconds())}s")
            return
        agent = User.objects.filter(email__iexact=email).first()
        if agent is None:
            raise CommandError(f"No user {email}.")
        if action in ("available", "break", "offline"):
            if mode:
                try:
                    acd.agent_mode_set(agent=agent, mode=mode)
                except ValueError as exc:
                    raise CommandError(str(exc)) from exc
            presence = acd.agent_status_set(agent=agent, status=action)
            self.stdout.write(self.style.SUCCESS(f"{agent} is {presence.status} ({presence.mode})"))
            return
        if action == "finish":
            return self._finish(agent, answers, disposition)
        if action == "book":
            return self._book(agent, answers, type)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            offer = CallSession.objects.filter(state=CallSession.State.OFFERED, offered_to=agent).first()
            if offer:
                if action == "decline":
                    acd.call_decline(call_id=offer.pk, agent=agent)
                    self.stdout.write(f"Declined the call from {offer.from_number}")
                    return
                session = acd.call_accept(call_id=offer.pk, agent=agent)
                if session is None:
                    raise CommandError("Someone else took the call.")
                self.stdout.write(self.style.SUCCESS(f"Connected to {offer.from_number} for {offer.client.name}"))
                return
            if AgentPresence.objects.filter(agent=agent).exclude(
                    status__in=[AgentPresence.Status.AVAILABLE, AgentPresence.Status.OFFERED]).exists():
                raise CommandError("The agent is not available; run `agent <email> available` first.")
            time.sleep(0.5)
        raise CommandError(f"No offer within {wait:.0f}s.")

    def _book(self, agent, answers: str, type_name: str) -> None:
        """On the agent's connected call, book the first free slot of its script's appointment
        step, as the console's step does: hold it, then book it with the caller's answers (name,
        phone, email and the type's intake fields, from --answers)."""
        from answering.scripts import appointments
        from calendars.services.booking import BookingRefused

        session = CallSession.objects.select_related("client").filter(
            agent=agent, state=CallSession.State.CONNECTED).first()
        if session is None:
            raise CommandError("The agent has no connected call.")
        values = self._answers(answers)
        with schema_context(session.client.schema_name):
            version = acd.call_script_pin(session)
            steps = appointments.script_appointment_steps(version.definition) if version else []
            if not steps:
                raise CommandError(f"The script of this call for {session.client.name} has no appointment step.")
            step = steps[0]["key"]
            try:
                offer = appointments.call_appointment_offer(session=session, agent=agent, step=step, type_name=type_name)
                if not offer["slots"]:
                    raise CommandError(offer["message"] or "No free slot.")
                slot = offer["slots"][0]
                hold = appointments.call_appointment_hold(
                    session=session, agent=agent, step=step, type_name=offer["chosen"], calendar_id=slot["calendar"],
                    start=dt.datetime.fromisoformat(slot["start"]))
                booked = appointments.call_appointment_book(
                    session=session, agent=agent, step=step, hold_id=hold.pk, name=values.pop("name", ""),
                    phone=values.pop("phone", ""), email=values.pop("email", ""), answers=values)
            except ValidationError as exc:
                raise CommandError(f"The booking is refused: {exc.message_dict}") from exc
            except (appointments.AppointmentRefused, BookingRefused) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(
                f"Booked {booked.type.name} with {booked.calendar.name}, {slot['label']}"
                f" (appointment {booked.pk}) for {session.client.name}"))

    @staticmethod
    def _answers(answers: str) -> dict:
        try:
            return json.loads(answers)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--answers is not JSON: {exc}") from exc

    def _finish(self, agent, answers: str, disposition: str) -> None:
        """Take the script's message (committed, then delivered) and end the agent's call, as the
        console's Finish does."""
        session = CallSession.objects.select_related("client").filter(
            agent=agent, state=CallSession.State.CONNECTED).first()
        if session is None:
            raise CommandError("The agent has no connected call.")
        values = self._answers(answers)
        with schema_context(session.client.schema_name):
            try:
                if values:
                    message = call_message_take(session=session, agent=agent, answers=values)
                    self.stdout.write(f"Message {message.pk} saved for {session.client.name} "
                                      f"({message.urgency}, {message.category or 'no category'})")
                call_finish(session=session, agent=agent, disposition=disposition, answers=values)
            except ValidationError as exc:
                raise CommandError(f"The answers are refused: {exc.message_dict}") from exc
            except CallFinishRefused as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Call from {session.from_number} finished ({disposition})"))
