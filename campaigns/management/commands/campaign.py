"""List, start, pause or stop a client's campaigns from the command line, e.g.

    manage.py campaign list northside
    manage.py campaign start northside "Furnace tune-up reminders"
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from campaigns.models import Campaign, Contact
from campaigns.services import lifecycle
from tenants.models import Client


class Command(BaseCommand):
    help = "List, start, pause or stop a client's campaigns."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "start", "pause", "stop"])
        parser.add_argument("client", help="the client's schema (slug) or name")
        parser.add_argument("campaign", nargs="?", default="", help="the campaign's name or id")

    def handle(self, *args, action, campaign, client, **options):
        found = Client.objects.filter(schema_name=client).first() or Client.objects.filter(name__iexact=client).first()
        if found is None or found.schema_name == "public":
            raise CommandError(f"No client “{client}”.")
        with schema_context(found.schema_name):
            if action == "list":
                for c in Campaign.objects.all():
                    left = Contact.objects.filter(campaign=c, status__in=Contact.DIALABLE).count()
                    self.stdout.write(f"{c.pk:>4}  {c.name:<40} {c.get_state_display():<12} {c.mode:<12} "
                                      f"{left} to call  {c.state_reason}")
                return
            if not campaign:
                raise CommandError("Name the campaign (its name or id).")
            chosen = (Campaign.objects.filter(pk=int(campaign)).first() if campaign.isdigit() else None) \
                or Campaign.objects.filter(name__iexact=campaign).first()
            if chosen is None:
                raise CommandError(f"{found.name} has no campaign “{campaign}”.")
            verb = {"start": lifecycle.campaign_start, "pause": lifecycle.campaign_pause,
                    "stop": lifecycle.campaign_stop}[action]
            try:
                chosen = verb(campaign=chosen, by="the command line")
            except lifecycle.CampaignRefused as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{chosen.name}: {chosen.get_state_display()} — {chosen.state_reason}")
