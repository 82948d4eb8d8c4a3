"""Answer a call-out the simulated gateway placed to an on-call person (development)."""

from __future__ import annotations

import json
import os

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from answering.twilio.gateway import SIM_OUTBOX
from answering.twilio.simulator import answer_callout, http_transport

ANSWERED = "sim:callout:answered"


class Command(BaseCommand):
    help = ("Play the on-call person answering the newest call-out not yet answered: listen and press 1 "
            "(acknowledge), another key, or nothing; e.g. simulate_callout --to +12125550142 --press 1")

    def add_arguments(self, parser):
        parser.add_argument("--to", help="only a call-out to this number (E.164)")
        parser.add_argument("--press", default="1", help="the key pressed after hearing the message ('' for none)")
        parser.add_argument("--no-answer", action="store_true", help="let it ring out instead")
        parser.add_argument("--list", action="store_true", help="list the call-outs placed so far")
        parser.add_argument("--server", default=f"http://127.0.0.1:{os.getenv('PORT', '8000')}")

    def handle(self, *args, to, press, no_answer, list, server, **options):
        if settings.TWILIO_MODE != "simulate":
            raise CommandError("Call-outs are only simulated with TWILIO_MODE=simulate.")
        r = redis.Redis.from_url(settings.REDIS_URL)
        placed = [json.loads(raw) for raw in r.lrange(SIM_OUTBOX.format(kind="call"), 0, -1)]
        answered = {sid.decode() for sid in r.smembers(ANSWERED)}
        if list:
            for record in placed:
                self.stdout.write(f"{record['sid']}  to {record['to']}  "
                                  f"{'answered' if record['sid'] in answered else 'ringing'}")
            return
        waiting = [c for c in placed if c["sid"] not in answered and (to is None or c["to"] == to)]
        if not waiting:
            raise CommandError("No call-out is ringing" + (f" for {to}" if to else "") + ".")
        record = waiting[-1]
        r.sadd(ANSWERED, record["sid"])
        r.expire(ANSWERED, 86400)
        self.stdout.write(f"Call-out {record['sid']} to {record['to']} from {record['from']}")
        outcome = answer_callout(record=record, transport=http_transport(server, settings.PLATFORM_DOMAIN),
                                 press=press or None, answer=not no_answer, say=self.stdout.write)
        self.stdout.write(f"Outcome: {outcome}")
