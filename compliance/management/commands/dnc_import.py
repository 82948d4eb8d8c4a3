"""Import a CSV into one client's DNC list, from the command line (no size limit)."""

from __future__ import annotations

import os
import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from compliance.rules import OptOutSource
from compliance.services import dnc_csv_import
from tenants.models import Client


class Command(BaseCommand):
    help = ("Add the numbers of a CSV (number[,reason] per row, a header row allowed) to a client's do-not-call "
            "list, as the portal's import does: bad rows are listed by line, the good ones added in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's schema name (slug)")
        parser.add_argument("file")
        parser.add_argument("--added-by", default=os.getenv("USER", "dnc_import"))
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, client, file, added_by, no_progress, **options):
        target = Client.objects.exclude(schema_name="public").filter(schema_name=client).first()
        if target is None:
            raise CommandError(f"No client with the schema name {client!r}.")
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        with open(file, "rb") as handle:
            data = handle.read()
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // max(total, 1)
            sys.stderr.write(f"\r  checking [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} lines")
            if done >= total:
                sys.stderr.write("\n  adding the numbers…\n")
            sys.stderr.flush()

        try:
            with tenant_context(target):
                result = dnc_csv_import(client=target, data=data, added_by=added_by, source=OptOutSource.CSV_IMPORT,
                                        progress=None if no_progress else progress)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for error in result.errors[:50]:
            self.stderr.write(f"  line {error.line}, {error.field}: {error.reason}")
        if len(result.errors) > 50:
            self.stderr.write(f"  … and {len(result.errors) - 50:,} more lines not imported")
        self.stdout.write(self.style.SUCCESS(
            f"{target.name}: {result.lines:,} lines, {result.added:,} added, {result.already:,} already on the list, "
            f"{len(result.errors):,} not imported; {time.monotonic() - started:.1f} s."))
