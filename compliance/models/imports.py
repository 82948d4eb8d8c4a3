"""A CSV import into the client's DNC list (tenant schema): the file, its progress, its outcome.

The portal hands the file to a background job (``compliance.tasks.dnc_import_run_task``);
the page polls this row for the progress bar and shows its outcome. The file itself is
dropped once the job is over (its numbers are on the list and in the ledger by then); the
row is kept, with every refused line, as the record of who imported what.
"""

from __future__ import annotations

from django.db import models


class DncImport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        PARSING = "parsing", "Checking the rows"
        WRITING = "writing", "Adding the numbers"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)

    filename = models.CharField(max_length=255, blank=True)
    data = models.BinaryField(help_text="The uploaded file, until the job is over.")
    added_by = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0, help_text="Lines in the file (known once parsing starts).")
    rows_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    already = models.PositiveIntegerField(default=0, help_text="Numbers that were already on the list.")
    errors = models.JSONField(default=list, help_text="Every refused line: [{line, field, reason}], in file order "
                                                      "(the first 100 000).")
    errors_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the job failed (nothing was written).")
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "DNC import"

    def __str__(self) -> str:
        return f"{self.filename or 'CSV'} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
