"""Per-client knowledge (tenant schema): short facts an agent may need mid-call."""

from __future__ import annotations

from django.db import models


class KnowledgeFact(models.Model):
    """A fact such as hours, address, service area, prices or policies."""

    title = models.CharField(max_length=120)
    body = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]
        constraints = [models.UniqueConstraint(fields=["title"], name="knowledge_fact_title_unique")]

    def __str__(self) -> str:
        return self.title
