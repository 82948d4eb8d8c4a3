"""Provision a client from the command line (operators)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services


class Command(BaseCommand):
    help = "Provision a client: schema, portal domain, phone numbers and default settings."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="schema name and portal host label, e.g. acmeplumbing")
        parser.add_argument("--name", required=True, help="the business's name")
        parser.add_argument("--time-zone", required=True, help="IANA time zone, e.g. America/Chicago")
        parser.add_argument("--languages", default="en", help="comma-separated, first is the default (en,es)")
        parser.add_argument("--domain", help="portal host (default <slug>.<PLATFORM_DOMAIN>)")
        parser.add_argument("--number", action="append", default=[], metavar="NUMBER[:PURPOSE]",
                            help="phone number, repeatable; purpose answering (default), caller_id or sms")

    def handle(self, *args, slug, name, time_zone, languages, domain, number, **options):
        numbers = []
        for raw in number:
            value, _, purpose = raw.partition(":")
            numbers.append(services.NumberSpec(value, purpose or "answering"))
        try:
            client = services.client_provision(
                name=name, slug=slug, time_zone=time_zone, languages=languages.split(","), domain=domain, numbers=numbers
            )
        except ValidationError as exc:
            lines = [f"  {field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
            raise CommandError("Client not created; nothing was written:\n" + "\n".join(lines)) from exc
        domain_name = client.domains.get(is_primary=True).domain
        self.stdout.write(self.style.SUCCESS(f"Created {client.name} ({client.schema_name}) at {domain_name}"))
