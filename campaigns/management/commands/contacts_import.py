"""Import a CSV into one of a client's campaign lists, from the command line (no size limit)."""

from __future__ import annotations

import os
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django_tenants.utils import tenant_context

from campaigns.models import Campaign, ContactImport
from campaigns.services import imports
from tenants.models import Client

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = ("Import a CSV of contacts into a campaign's list (created if missing), as the portal's import does, "
            "in the foreground with a progress bar: bad rows are listed by line, field and reason, the good ones "
            "written in one transaction. Without --map, the columns are guessed from the header.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--client", required=True, help="the client's schema name or its name")
        parser.add_argument("--campaign", required=True, help="the campaign's name or id")
        parser.add_argument("--list", required=True, dest="list_name", help="the list's name (created if missing)")
        parser.add_argument("--map", action="append", default=[], dest="pairs", metavar="TARGET=COLUMN",
                            help="e.g. --map number=Phone --map first_name='First Name' --map field:plan=Plan; "
                                 "given, only the mapped columns are imported")
        parser.add_argument("--added-by", default=os.getenv("USER", "contacts_import"))
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, client, campaign, list_name, pairs, added_by, no_progress, **options):
        target = (Client.objects.exclude(schema_name="public")
                  .filter(Q(schema_name=client) | Q(name__iexact=client)).first())
        if target is None:
            raise CommandError(f"No client with the schema name or name {client!r}.")
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        with open(file, "rb") as handle:
            data = handle.read()
        started = time.monotonic()
        with tenant_context(target):
            chosen = self._campaign(target, campaign)
            try:
                columns = imports.csv_columns(data)
                mapping = self._mapping(pairs) if pairs else imports.mapping_guess(columns)
                mapping = imports.mapping_check(mapping=mapping, columns=columns)
                contact_list, created = imports.contact_list_get_or_create(campaign=chosen, name=list_name)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            if not pairs:
                self.stdout.write("Columns guessed from the header: "
                                  + ", ".join(f"{t}={c!r}" for c, t in mapping.items()))
            if created:
                self.stdout.write(f"Created the list “{contact_list.name}” in “{chosen.name}”.")
            # The job row is the record of who imported what, as the portal's imports are.
            job = ContactImport.objects.create(list=contact_list, filename=os.path.basename(file)[:255], data=data,
                                               mapping=mapping, added_by=added_by[:200])
            job = imports.contact_import_run(import_id=job.pk, progress=None if no_progress else self._bar)
        if job.status == ContactImport.Status.FAILED:
            raise CommandError(f"Not imported: {job.failure}")
        self.stdout.write(self.style.SUCCESS(
            f"{target.name} / {chosen.name} / {contact_list.name}: {job.rows_total:,} lines, {job.added:,} added, "
            f"{job.updated:,} updated, {job.merged:,} duplicates merged, {job.errors_count:,} not imported; "
            f"{time.monotonic() - started:.1f} s."))
        for error in job.errors[:ERRORS_SHOWN]:
            self.stdout.write(f"  line {error['line']}, {error['field']}: {error['reason']}")
        if job.errors_count > ERRORS_SHOWN:
            self.stdout.write(f"  … and {job.errors_count - ERRORS_SHOWN:,} more lines not imported")

    def _bar(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stderr.write(f"\r  checking [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} lines",
                          ending="")
        if done >= total:
            self.stderr.write("\n  adding the contacts…")
        self.stderr.flush()

    @staticmethod
    def _campaign(client: Client, wanted: str) -> Campaign:
        by_name = Q(name__iexact=wanted.strip())
        chosen = Campaign.objects.filter(by_name | Q(pk=int(wanted)) if wanted.isdigit() else by_name).first()
        if chosen is None:
            names = ", ".join(f"{c.pk} “{c.name}”" for c in Campaign.objects.all()[:20]) or "none"
            raise CommandError(f"{client.name} has no campaign {wanted!r} (its campaigns: {names}).")
        return chosen

    @staticmethod
    def _mapping(pairs: list[str]) -> dict[str, str]:
        """``number=Phone`` pairs (target first, as a person says it) → column → target."""
        mapping: dict[str, str] = {}
        for pair in pairs:
            target, sep, column = pair.partition("=")
            if not sep or not target.strip() or not column.strip():
                raise CommandError(f"--map {pair!r}: write it as TARGET=COLUMN, e.g. --map number=Phone.")
            column = column.strip()
            if column in mapping:
                raise CommandError(f"The column {column!r} is mapped twice.")
            mapping[column] = target.strip()
        return mapping
