"""The Celery app. tenant-schemas-celery carries the sender's schema with every task,
so a task sent inside a client's context runs in that client's schema."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

app = CeleryApp("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
