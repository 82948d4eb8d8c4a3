"""Bring the database up to date: the public schema, every client's schema, the template."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Migrate the public schema, every client's schema and the template new clients are cloned from."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", interactive=False, verbosity=max(verbosity - 1, 0))
        services.template_schema_sync(verbosity=max(verbosity - 1, 0))
        self.stdout.write(self.style.SUCCESS("Schemas migrated (public, clients, template)."))
