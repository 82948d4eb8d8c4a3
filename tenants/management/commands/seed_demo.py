"""Seed the demo (idempotent) and print where to go and how to log in."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from switchboard import demo


class Command(BaseCommand):
    help = "Create the demo clients, numbers and people if missing, then print URLs, logins and numbers."

    def handle(self, *args, **options):
        clients = demo.demo_seed()
        port = os.getenv("PORT", "8000")
        base = f"http://{settings.PLATFORM_DOMAIN}:{port}"
        out = self.stdout.write
        out(self.style.MIGRATE_HEADING("\nSwitchboard demo"))
        out(f"  Platform (staff, agents)  {base}/")
        out(f"  Platform admin            {base}/admin/")
        out(f"  Health                    {base}/healthz")
        out(f"  Password for every demo login: {demo.DEMO_PASSWORD}")
        for email, name, role in demo.STAFF:
            out(f"    {role.label:<15} {email}")
        out("  Clients:")
        for spec in demo.CLIENTS:
            client = clients[spec.slug]
            out(f"    {client.name}")
            out(f"      portal   http://{spec.slug}.{settings.PLATFORM_DOMAIN}:{port}/   login {spec.admin_email} "
                f"(or staff@{spec.slug}.example)")
            out(f"      data     {base}/clients/{spec.slug}/admin/  (platform admin)")
            out(f"      number   {spec.number}  ({', '.join(client.languages)})")
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            out(f"  Outgoing email (messages, invitations, password resets) is written to {settings.EMAIL_FILE_PATH}/")
        if settings.TWILIO_MODE == "simulate":
            out("  Texts and call-outs to on-call staff are simulated: the worker's log shows each one;")
            out("    answer a call-out with `manage.py simulate_callout --press 1`, reply to a text with")
            out("    `manage.py simulate_sms --to <client number> --from <their mobile> --body OK`.")
        out("")
