"""Load an FTC National Do Not Call Registry file (full or change) with PostgreSQL COPY."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from compliance.platform.models import RegistryLoad
from compliance.services import registry_load

_DATE_IN_NAME = re.compile(r"(20\d\d)-?([01]\d)-?([0-3]\d)")


class Command(BaseCommand):
    help = ("Load a National DNC Registry file: one number per line, 10 digits with or without separators. "
            "A full file replaces the registry; --change-file adds and deletes (flags A/D per line).")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--change-file", action="store_true", help="a change list, not a full list")
        parser.add_argument("--deletions", action="store_true",
                            help="with --change-file: lines without a flag are deletions (a deletions-only file)")
        parser.add_argument("--file-date", help="the date the FTC produced the file, YYYY-MM-DD "
                                                "(default: a date in the file name)")
        parser.add_argument("--loaded-by", default=os.getenv("USER", "load_dnc_registry"))
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, change_file, deletions, file_date, loaded_by, no_progress, **options):
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        if deletions and not change_file:
            raise CommandError("--deletions only makes sense with --change-file.")
        date = self._file_date(file, file_date)
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // total
            rate = done / max(time.monotonic() - started, 1e-6) / 1e6
            sys.stderr.write(f"\r  reading [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}% "
                             f"{rate:5.1f} MB/s")
            if done >= total:
                sys.stderr.write("\n  indexing and swapping in…\n" if not change_file else "\n  applying…\n")
            sys.stderr.flush()

        kind = RegistryLoad.Kind.CHANGE if change_file else RegistryLoad.Kind.FULL
        load, report = registry_load(path=file, kind=kind, file_date=date, loaded_by=loaded_by, deletions=deletions,
                                     progress=None if no_progress else progress)
        for line_no, problem in report.malformed[:50]:
            self.stderr.write(f"  line {line_no}: {problem}")
        if report.malformed_count > 50:
            self.stderr.write(f"  … and {report.malformed_count - 50} more malformed lines")
        rate = report.accepted / load.seconds if load.seconds else 0
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {load.get_kind_display().split(' (')[0].lower()} {load.file_name} (file date {load.file_date}): "
            f"{report.lines:,} lines, {load.added:,} added, {load.deleted:,} deleted, "
            f"{report.malformed_count:,} malformed; {load.total_after:,} numbers in the registry; "
            f"{load.seconds:.1f} s ({rate:,.0f} rows/s)."
        ))

    @staticmethod
    def _file_date(path: str, given: str | None) -> dt.date:
        if given:
            try:
                return dt.date.fromisoformat(given)
            except ValueError as exc:
                raise CommandError(f"--file-date {given!r} is not YYYY-MM-DD.") from exc
        match = _DATE_IN_NAME.search(os.path.basename(path))
        if match:
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                pass
        # No guessing from the file's mtime: a wrong date could pass stale data as fresh.
        raise CommandError("Give --file-date YYYY-MM-DD: the date the FTC produced the file (the name has none).")
