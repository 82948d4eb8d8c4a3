"""Reads of answering data. Every function here runs inside one client's schema."""

from __future__ import annotations

from django.db.models import QuerySet

from answering.models import AnsweringSettings, KnowledgeFact


def answering_settings_get() -> AnsweringSettings | None:
    return AnsweringSettings.objects.first()


def knowledge_fact_list() -> QuerySet[KnowledgeFact]:
    return KnowledgeFact.objects.all()
