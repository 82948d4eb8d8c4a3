"""Build every client's statement for a month, from the command line, with a progress bar."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.services import Period, billing_run
from tenants.models import Client


class Command(BaseCommand):
    help = ("Build (or rebuild, while still drafts) the statements of every active client with a billing plan "
            "for a month in each client's own time zone, e.g. `billing_run 2026-11`. Issued statements are kept.")

    def add_arguments(self, parser):
        parser.add_argument("period", help="the month, YYYY-MM")
        parser.add_argument("--client", action="append", default=[], help="only this client (schema name); repeatable")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, period, client, no_progress, **options):
        try:
            period = Period.parse(period)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        chosen = None
        if client:
            chosen = list(Client.objects.filter(schema_name__in=client))
            unknown = sorted(set(client) - {c.schema_name for c in chosen})
            if unknown:
                raise CommandError(f"No client with the schema name {', '.join(unknown)}.")
        started = time.monotonic()

        def progress(done: int, total: int, result: dict) -> None:
            width = 30
            filled = width * done // max(total, 1)
            self.stderr.write(f"\r  billing {period} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} clients",
                              ending="\n" if done >= total else "")
            self.stderr.flush()

        results = billing_run(period, chosen, progress=None if no_progress else progress)
        for result in results:
            if result["status"] != "built":
                self.stderr.write(f"  {result['client']}: {result['status']}: {result['error']}")
        built = [r for r in results if r["status"] == "built"]
        self.stdout.write(self.style.SUCCESS(
            f"{period}: {len(built):,} of {len(results):,} statements built, "
            f"{sum(r['items'] for r in built):,} items; {time.monotonic() - started:.1f} s."))
