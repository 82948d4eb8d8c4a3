"""The test world, built once per session against real PostgreSQL and Redis.

Two clients — Bob's plumbing and Charlie's clinic — with domains and numbers, platform
staff, agents with skills, and each client's people. Tests read it through ``world``;
tests that need other processes (a Celery worker, an ASGI server) start them from
fixtures in tests/processes.py, pointed at the same test database.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client as HttpClient
from django_tenants.utils import schema_context

from answering.services import knowledge_facts_import
from switchboard.redis_clients import redis_client
from tenants import services, throttle
from tenants.models import Client, Role, User

pytest_plugins = ["tests.processes"]

PASSWORD = "correct horse battery staple"
BOB_HOST = "bobsplumbing.localhost"
CHARLIE_HOST = "charlieclinic.localhost"
PLATFORM_HOST = "localhost"

# Bob's service script: the console, call-finish and portal browser tests use it.
BOB_SCRIPT = {
    "key": "service", "name": "Service call", "used_for": ["open:2"], "is_default": True,
    "steps": [
        {"key": "danger", "say": {"en": "{client_name}, this is {agent_first_name}. Is anyone in danger?"},
         "fields": [{"name": "in_danger", "label": "Anyone in danger?", "type": "yes_no", "required": True}],
         "branches": [{"field": "in_danger", "equals": "yes", "goto": "dispatch"},
                      {"field": "in_danger", "equals": "no", "goto": "details"}]},
        {"key": "details", "say": {"en": "May I have your name and a number to call you back?"},
         "fields": [{"name": "name", "label": "Name", "type": "text", "required": True},
                    {"name": "callback_number", "label": "Callback number", "type": "phone", "required": True}],
         "end": {"action": "message", "urgency": "normal", "category": "service"}},
        {"key": "dispatch", "say": {"en": "Stay on the line, I am reaching the technician on call."},
         "end": {"action": "dispatch", "urgency": "urgent", "category": "emergency"}},
    ],
}


def _push(group: str, payload: dict) -> None:
    """live.push from a thread of its own: this test thread may hold Playwright's event loop
    (the browser fixture is session-wide), where async_to_sync refuses to run."""
    import threading

    from answering import live

    thread = threading.Thread(target=live.push, args=(group, payload))
    thread.start()
    thread.join(10)


@dataclass
class World:
    bobs: Client  # Bob's plumbing
    charlies: Client  # Charlie's clinic
    alice: User  # platform admin
    sam: User  # supervisor
    ana: User  # agent for both clients, English and Spanish
    ben: User  # agent for Bob's plumbing only, English
    bob: User  # Bob's plumbing's client admin
    bea: User  # Bob's plumbing's client user
    charlie: User  # Charlie's clinic's client admin
    sessions: dict[str, str]  # email -> committed session key (for other processes)


def _build_world() -> None:
    services.template_schema_sync()
    bobs = services.client_provision(
        name="Bob's Plumbing", slug="bobsplumbing", time_zone="America/New_York",
        numbers=[services.NumberSpec("+12125550111")],
    )
    charlies = services.client_provision(
        name="Charlie's Clinic", slug="charlieclinic", time_zone="America/Chicago", languages=["en", "es"],
        numbers=[services.NumberSpec("+13125550113")],
    )
    with schema_context(bobs.schema_name):
        knowledge_facts_import(facts=[{"title": "Hours", "body": "Bob's: 7 to 7, emergencies 24/7"}])
    with schema_context(charlies.schema_name):
        knowledge_facts_import(facts=[{"title": "Hours", "body": "Charlie's: 8 to 5, closed weekends"}])
    make = services.user_create
    make(email="alice@switchboard.test", role=Role.PLATFORM_ADMIN, password=PASSWORD, full_name="Alice Admin")
    make(email="sam@switchboard.test", role=Role.SUPERVISOR, password=PASSWORD, full_name="Sam Supervisor")
    ana = make(email="ana@switchboard.test", role=Role.AGENT, password=PASSWORD, full_name="Ana Agent")
    ben = make(email="ben@switchboard.test", role=Role.AGENT, password=PASSWORD, full_name="Ben Agent")
    services.agent_skills_set(user=ana, clients=[bobs, charlies], languages=["en", "es"], mode="blended")
    services.agent_skills_set(user=ben, clients=[bobs], languages=["en"])
    make(email="bob@bobs.test", role=Role.CLIENT_ADMIN, password=PASSWORD, full_name="Bob Builder", client=bobs)
    make(email="bea@bobs.test", role=Role.CLIENT_USER, password=PASSWORD, full_name="Bea Clerk", client=bobs)
    make(email="charlie@charlies.test", role=Role.CLIENT_ADMIN, password=PASSWORD, full_name="Charlie Day",
         client=charlies)


def _committed_session(user: User) -> str:
    """A logged-in session row, committed, as a browser would hold after logging in."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    own = None
    if not connection.settings_dict["NAME"].startswith("test"):
        # pytest-django creates only the databases that collected `django_db` tests use;
        # a run of process tests alone (no django_db mark) needs the test database too.
        with django_db_blocker.unblock():
            own = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    assert connection.settings_dict["NAME"].startswith("test"), "refusing to build the test world in a real database"
    with django_db_blocker.unblock():
        _build_world()
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # A server or worker process that just exited can leave its backend a moment
        # behind; the test database can only be dropped once nobody is connected.
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    if own is not None:
        with django_db_blocker.unblock():
            teardown_databases(own, verbosity=0)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock():
        users = {u.email.split("@")[0]: u for u in User.objects.all()}
        sessions = {}
        for user in users.values():
            sessions[user.email] = _committed_session(user)
        return World(
            bobs=Client.objects.get(schema_name="bobsplumbing"),
            charlies=Client.objects.get(schema_name="charlieclinic"),
            sessions=sessions,
            **{name: users[name] for name in ("alice", "sam", "ana", "ben", "bob", "bea", "charlie")},
        )


@pytest.fixture(autouse=True)
def _public_schema_after_each_test():
    """A test that enters a schema never leaks it into the next one, nor a cached flow
    read from data its transaction rolled back."""
    from answering.flow import cache as flow_cache

    flow_cache.clear()
    yield
    connection.set_schema_to_public()
    flow_cache.clear()


@pytest.fixture(autouse=True)
def _no_login_throttle_between_tests():
    """Every test starts with no failed logins nor reset emails counted (tenants/throttle.py):
    the counters live in Redis, beyond the test's transaction, and every test client calls
    from 127.0.0.1."""
    redis = redis_client(timeout=5)
    keys = list(redis.scan_iter(match=f"{throttle.PREFIX}*", count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def eager_celery():
    """Tasks run inline (dispatch, expiry) so a test sees the ACD act at once."""
    from switchboard.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def until(check, what: str = "", timeout: float = 30, every: float = 0.1):
    """Poll ``check`` until it returns something true (and return it): what another process or
    thread does takes its time. Fails with ``what`` after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def http(host: str) -> HttpClient:
    return HttpClient(HTTP_HOST=host)


@pytest.fixture
def logged_in():
    """logged_in(user, host) -> a test client with that user's session, on that host."""

    def make(user: User, host: str) -> HttpClient:
        client = http(host)
        client.force_login(user)
        return client

    return make
