"""The Celery app. tenant-schemas-celery carries the sender's schema with every task,
so a task sent inside a client's context runs in that client's schema."""

from __future__ import annotations

import os

from celery.signals import worker_process_init
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

app = CeleryApp("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages of answering that are not apps of their own keep their tasks beside their services.
app.autodiscover_tasks(["answering.messages"])


_kombu_connparams = kombu_redis.Channel._connparams


def _connparams_while_connected(self: kombu_redis.Channel, asynchronous: bool = False) -> dict:
    """kombu's Redis connection parameters, or a connection error once the broker connection
    is closed — instead of kombu's `AttributeError: 'NoneType' object has no attribute
    'hostname'`, which killed the worker on a Redis restart (issue #14).

    How: when Redis goes away while the worker holds unacknowledged tasks (running, or
    waiting for their countdown), Celery's consumer calls `Connection.collect()`, whose close
    of the default channel stops half-way (reading the dead BRPOP socket raises) and which
    then detaches the transport (`transport.client = None`). Celery next calls
    `connection.close()`, which closes that same channel again; restoring its unacknowledged
    tasks needs a fresh Redis pool, built from `transport.client`: None. An AttributeError
    is not one of the connection errors Celery's `ignore_errors` expects, so it ended the
    consumer ("Unrecoverable error") and the worker exited. As a connection error, it is
    ignored like the others and the worker reconnects. The tasks stay in Redis's unacked
    set, and Redis gives them out again after the visibility timeout, exactly as when
    Redis is unreachable at that moment (the sweeps cover countdowns meanwhile)."""
    transport = self.connection
    if transport is None or transport.client is None:
        raise RedisConnectionError("the connection to the broker is closed")
    return _kombu_connparams(self, asynchronous=asynchronous)


kombu_redis.Channel._connparams = _connparams_while_connected


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
