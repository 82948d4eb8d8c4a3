"""Keep the flow cache honest: any change to a flow or to numbers/clients invalidates it."""

from __future__ import annotations

from django.db import connection
from django.db.models.signals import post_delete, post_save

from answering.flow import cache as flow_cache
from answering.models import AnsweringSettings, BusinessHours, Closure, MenuOption, Prompt
from tenants.models import Client, PhoneNumber

FLOW_MODELS = (AnsweringSettings, BusinessHours, Closure, MenuOption, Prompt)


def _flow_changed(sender, **kwargs):
    flow_cache.flow_changed(connection.schema_name)


def _numbers_changed(sender, **kwargs):
    flow_cache.numbers_changed()


for model in FLOW_MODELS:
    post_save.connect(_flow_changed, sender=model, dispatch_uid=f"flow-cache-save-{model.__name__}")
    post_delete.connect(_flow_changed, sender=model, dispatch_uid=f"flow-cache-delete-{model.__name__}")
for model in (Client, PhoneNumber):
    post_save.connect(_numbers_changed, sender=model, dispatch_uid=f"numbers-cache-save-{model.__name__}")
    post_delete.connect(_numbers_changed, sender=model, dispatch_uid=f"numbers-cache-delete-{model.__name__}")
