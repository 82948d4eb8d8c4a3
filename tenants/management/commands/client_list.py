"""List clients with their portal hosts and numbers (operators)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants import selectors


class Command(BaseCommand):
    help = "List every client with its status, time zone, portal domains and phone numbers."

    def handle(self, *args, **options):
        clients = list(selectors.client_list())
        if not clients:
            self.stdout.write("No clients yet. Create one with: manage.py client_create")
            return
        for client in clients:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{client.name}  [{client.schema_name}]"))
            self.stdout.write(f"  status     {client.status}")
            self.stdout.write(f"  time zone  {client.time_zone}")
            self.stdout.write(f"  languages  {', '.join(client.languages)}")
            for domain in client.domains.all():
                self.stdout.write(f"  domain     {domain.domain}{'  (primary)' if domain.is_primary else ''}")
            for phone in client.phone_numbers.all():
                self.stdout.write(f"  number     {phone.number}  {phone.get_purpose_display()}")
