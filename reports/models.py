"""The reports' cache of closed days (per client schema): each local day's grouped counts,
kept with the number of changes its records had when they were counted, and the changes
themselves, counted by the database on every write (see migration 0002)."""

from __future__ import annotations

from django.db import models


class RecordChange(models.Model):
    """How many statements changed ``source``'s records (call records, messages, attempts) whose
    time falls in the 15-minute ``slot`` (UTC): written by a trigger in the writer's own
    transaction, only ever increased, so an unchanged sum means unchanged records."""

    source = models.CharField(max_length=16)
    slot = models.DateTimeField()
    changes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "slot"], name="reports_change_slot")]


class DayCounts(models.Model):
    """One local day's (``starts_at`` … ``ends_at``) groups of ``source`` at ``grain``, as the
    report's own query returns them, valid while the day's changes still sum to ``changes``."""

    source = models.CharField(max_length=16)
    grain = models.CharField(max_length=16)
    params = models.CharField(max_length=64, blank=True)  # what else the counts depend on (thresholds …)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    changes = models.BigIntegerField()
    groups = models.JSONField()
    counted = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "grain", "params", "starts_at", "ends_at"],
                                               name="reports_daycounts_key")]
