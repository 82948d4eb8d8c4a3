"""Text a client's number through the running server, as Twilio would (signed webhook)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from answering.twilio.simulator import http_transport, send_sms


class Command(BaseCommand):
    help = "Simulate an inbound SMS, e.g. simulate_sms --to +12125550101 --from +12125551234 --body STOP"

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="the client's number (E.164)")
        parser.add_argument("--from", dest="from_", default="+12125551234", help="the texter's number")
        parser.add_argument("--body", required=True)
        parser.add_argument("--server", default=f"http://127.0.0.1:{os.getenv('PORT', '8000')}")

    def handle(self, *args, to, from_, body, server, **options):
        reply = send_sms(transport=http_transport(server, settings.PLATFORM_DOMAIN), to=to, from_=from_, body=body)
        if reply.status != 200:
            raise CommandError(f"The server answered {reply.status}: {reply.body[:200]}")
        messages = [m.text for m in ET.fromstring(reply.body).iter("Message")]
        self.stdout.write(f"Texted {to} from {from_}: {body!r}")
        self.stdout.write("Reply: " + (messages[0] if messages else "(none)"))
