"""The flow editor's verb: a client's whole call flow replaced at once. In the client's schema."""

from __future__ import annotations

from datetime import time as dtime

from django.db import connection, transaction

from answering.flow import cache as flow_cache
from answering.models import AnsweringSettings, BusinessHours, MenuOption, Prompt


def call_flow_replace(*, hours: list[tuple[int, str, str]], options: list[dict], prompts: list[dict],
                      record_calls: bool | None = None) -> None:
    """Set a client's whole call flow at once (demo, imports): hours, menu options, prompts.
    One transaction: the flow is never half old, half new."""
    with transaction.atomic():
        BusinessHours.objects.all().delete()
        for weekday, opens, closes in hours:
            BusinessHours.objects.create(weekday=weekday, opens=dtime.fromisoformat(opens),
                                         closes=dtime.fromisoformat(closes))
        MenuOption.objects.all().delete()
        for option in options:
            MenuOption.objects.create(**option)
        for prompt in prompts:
            Prompt.objects.update_or_create(key=prompt["key"], language=prompt.get("language", "en"),
                                            defaults={k: v for k, v in prompt.items() if k not in ("key", "language")})
        if record_calls is not None:
            AnsweringSettings.objects.update(record_calls=record_calls)
        flow_cache.flow_changed(connection.schema_name)  # .update() sends no signal
