"""Import a client's calendars' busy times from their own ICS feeds now, and say what came of it:

    manage.py calendar_busy_import bayview
    manage.py calendar_busy_import bayview "Dr. Rivera"
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from calendars.models import Calendar
from calendars.services.feeds import busy_import
from tenants.models import Client


class Command(BaseCommand):
    help = "Import busy times from the client's calendars' ICS feeds (every calendar with one, or the one named)."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's schema (slug) or name")
        parser.add_argument("calendar", nargs="?", default="", help="the calendar's name or id (default: all)")

    def handle(self, *args, client, calendar, **options):
        found = Client.objects.filter(schema_name=client).first() or Client.objects.filter(name__iexact=client).first()
        if found is None or found.schema_name == "public":
            raise CommandError(f"No client “{client}”.")
        with schema_context(found.schema_name):
            if calendar:
                chosen = (Calendar.objects.filter(pk=int(calendar)).first() if calendar.isdigit() else None) \
                    or Calendar.objects.filter(name__iexact=calendar).first()
                if chosen is None:
                    raise CommandError(f"{found.name} has no calendar “{calendar}”.")
                if not chosen.busy_ics_url:
                    raise CommandError(f"{chosen.name} has no ICS URL to import busy times from.")
                calendars = [chosen]
            else:
                calendars = list(Calendar.objects.filter(active=True).exclude(busy_ics_url=""))
                if not calendars:
                    self.stdout.write(f"{found.name} has no calendar with an ICS URL.")
                    return
            failed = 0
            for c in calendars:
                result = busy_import(calendar=c)
                if result.ok:
                    self.stdout.write(f"{c.name}: {result.count} busy time{'s' if result.count != 1 else ''} imported.")
                else:
                    failed += 1
                    self.stderr.write(f"{c.name}: {result.error}")
            if failed:
                raise CommandError(f"{failed} of {len(calendars)} imports failed.")
