"""Verbs of answering. Every function here runs inside one client's schema."""

from __future__ import annotations

from django.db import transaction

from answering.models import AnsweringSettings, KnowledgeFact
from tenants.models import Client


def answering_settings_create_defaults(*, client: Client) -> AnsweringSettings:
    """Give a new client sensible answering defaults. Idempotent."""
    settings, _ = AnsweringSettings.objects.get_or_create(
        singleton=True, defaults={"greeting": f"Thank you for calling {client.name}, this is {{agent_first_name}}."}
    )
    return settings


def knowledge_facts_import(*, facts: list[dict]) -> int:
    """Create or update knowledge facts by title, all in one transaction. Returns how many were written.

    Idempotent: importing the same facts twice leaves one row per title.
    """
    with transaction.atomic():
        for position, fact in enumerate(facts):
            KnowledgeFact.objects.update_or_create(
                title=fact["title"].strip(), defaults={"body": fact["body"].strip(), "position": fact.get("position", position)}
            )
    return len(facts)
