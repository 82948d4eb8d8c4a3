"""The Celery app. tenant-schemas-celery carries the sender's schema with every task,
so a task sent inside a client's context runs in that client's schema."""

from __future__ import annotations

import os

from celery.signals import worker_process_init
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

app = CeleryApp("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages of answering that are not apps of their own keep their tasks beside their services.
app.autodiscover_tasks(["answering.messages"])


@worker_process_init.connect
def _keep_database_connections(**kwargs) -> None:
    """A prefork child runs one task at a time on one thread, so a persistent connection is
    safe there — and without one every task starts a PostgreSQL backend with cold catalog
    caches, which costs more than most tasks' own work. (Web processes use a pool instead:
    see DB_POOL_SIZE.) Health checks make a connection the database dropped reconnect."""
    from django.db import connections  # Django is set up in the worker only after this module loads

    age = int(os.getenv("CELERY_DB_CONN_MAX_AGE", "300"))
    for connection in connections.all(initialized_only=False):
        connection.settings_dict["CONN_MAX_AGE"] = age
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True
