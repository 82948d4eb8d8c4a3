"""Ask the compliance gate about one number, for one client, and print the decision with reasons."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import Campaign
from compliance.rules import Channel, Purpose
from compliance.services import contact_decide
from tenants import selectors


class Command(BaseCommand):
    help = "Ask the compliance gate whether a number may be contacted; print allow/deny and every reason."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's slug")
        parser.add_argument("number")
        parser.add_argument("--purpose", default=Purpose.TELEMARKETING, choices=Purpose.values)
        parser.add_argument("--channel", default=Channel.VOICE, choices=Channel.values)
        parser.add_argument("--at", help="ISO date-time (default now), e.g. 2025-06-02T14:30:00-04:00")
        parser.add_argument("--state", help="the contact's address state, e.g. FL")
        parser.add_argument("--campaign", type=int, help="campaign id")

    def handle(self, *args, client, number, purpose, channel, at, state, campaign, **options):
        target = selectors.client_get_by_slug(client)
        if target is None:
            raise CommandError(f"No client “{client}”.")
        when = None
        if at:
            try:
                when = dt.datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at {at!r} is not an ISO date-time.") from exc
            if timezone.is_naive(when):
                when = timezone.make_aware(when, target.tz)
        with tenant_context(target):
            campaign_obj = Campaign.objects.filter(pk=campaign).first() if campaign else None
            if campaign and campaign_obj is None:
                raise CommandError(f"No campaign {campaign} for {target.name}.")
            decision = contact_decide(client=target, number=number, purpose=purpose, channel=channel, at=when,
                                      contact_address=state, campaign=campaign_obj, asked_by="check_number")
        style = self.style.SUCCESS if decision.allowed else self.style.ERROR
        self.stdout.write(style(str(decision).splitlines()[0]))
        self.stdout.write("\n".join(str(decision).splitlines()[1:]))
        self.stdout.write(f"  ledger entry #{decision.ledger_id}; rule versions: "
                          + ", ".join(f"{k}={v}" for k, v in decision.rule_versions.items()))
