"""Play Twilio against a running server: one inbound call to a client's number."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from answering.twilio.simulator import SimulatedCall, http_transport


class Command(BaseCommand):
    help = ("Simulate an inbound call: signed webhooks to the running server, following the TwiML "
            "(menu digits, queue, agent, voicemail). Example: simulate_call --to +13055550102 --from "
            "+13055551234 --digits 2,1")

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="the client's number (E.164)")
        parser.add_argument("--from", dest="from_", default="+13055551234", help="the caller's number")
        parser.add_argument("--digits", default="", help="keys the caller presses, in order, comma-separated")
        parser.add_argument("--server", default=f"http://127.0.0.1:{os.getenv('PORT', '8000')}",
                            help="where the server listens (default http://127.0.0.1:$PORT)")
        parser.add_argument("--talk", type=int, default=5, help="seconds the caller talks to the agent")
        parser.add_argument("--hang-up-after", type=float, default=None, help="abandon after this many seconds queued")
        parser.add_argument("--max-wait", type=float, default=600, help="give up waiting after this many seconds")
        parser.add_argument("--caller-hangs-up-after", type=float, default=None,
                            help="with the console's phone answering: the caller hangs up this many seconds after "
                                 "the agent answers (default: when the agent hangs up)")
        parser.add_argument("--on-call-person", choices=["answers", "declines", "no-answer"], default="answers",
                            help="what the person a patch or transfer rings does")

    def handle(self, *args, to, from_, digits, server, talk, **options):
        host = settings.PLATFORM_DOMAIN
        call = SimulatedCall(
            to=to, from_=from_, transport=http_transport(server, host), talk_seconds=talk, realtime=True,
            digits=[d.strip() for d in digits.split(",") if d.strip()], hold_poll_seconds=1.0,
            max_queue_seconds=options["max_wait"], hang_up_in_queue_after=options["hang_up_after"],
            caller_hangs_up_after=options["caller_hangs_up_after"], third_party=options["on_call_person"],
            max_conference_seconds=3600,
            say=lambda line: self.stdout.write(line),
        )
        self.stdout.write(f"Calling {to} from {from_} (CallSid {call.call_sid})")
        outcome = call.run()
        self.stdout.write(self.style.SUCCESS(f"Call ended: {outcome}"))
