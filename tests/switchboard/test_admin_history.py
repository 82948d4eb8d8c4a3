"""The admin's history belongs to the client whose data it describes.

Object ids repeat in every client's schema, so an admin log kept in one table for everyone
would show client A, on A's object 1, what B's admin did to B's object 1. Each client's
log is kept in its own schema: its history pages and its "recent actions" show its own
entries and nobody else's — over every model registered on the client-data admin.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField
from django.db import connection, models, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from switchboard.admin_sites import client_data_admin
from tenants.models import Client, User
from tenants.phone import PhoneNumberField
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST

pytestmark = pytest.mark.django_db

MODELS = sorted(client_data_admin._registry, key=lambda model: model._meta.label)


def _in_public(model) -> bool:
    return model._meta.app_config.name in settings.SHARED_APPS


def _value(field: models.Field, owner: User):
    """A value the database takes for a required field (the first choice, else a plain one)."""
    if field.choices:
        return field.flatchoices[0][0]
    if isinstance(field, models.ForeignKey):
        related = field.related_model
        if related is User or related is Client:
            return owner if related is User else owner.client
        # An existing row will do (a contact's list and campaign are one campaign's: two new
        # ones would both take the unique placeholder name).
        return related.objects.first() or _row(related, owner=owner)
    if isinstance(field, ArrayField):
        return []
    if isinstance(field, DateTimeRangeField):  # an appointment's blocked time
        now = timezone.now()
        return DateTimeTZRange(now, now + datetime.timedelta(hours=1))
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.EmailField):
        return "someone@example.test"
    if isinstance(field, PhoneNumberField):
        return "+12125550100"
    if isinstance(field, (models.CharField, models.TextField)):
        return "x"
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return datetime.date.today()
    if isinstance(field, models.TimeField):
        return datetime.time(17 if field.name.startswith("close") else 9)  # business hours close after they open
    if isinstance(field, models.DurationField):
        return datetime.timedelta(minutes=5)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(0)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 1
    raise AssertionError(f"the test cannot fill {field!r}: give it a value in _value()")


def _row(model, *, owner: User, pk: int | None = None):
    """A row of ``model`` in the current schema (pk ``pk`` when given), its required fields filled."""
    if pk is not None and (existing := model.objects.filter(pk=pk).first()) is not None:
        return existing
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.null or field.has_default() or getattr(field, "auto_now", False) \
                or getattr(field, "auto_now_add", False):
            continue
        values[field.name] = _value(field, owner)
    with transaction.atomic():
        return model.objects.create(**({"pk": pk} if pk is not None else {}), **values)


def _same_pk_in_both(model, bob: User, charlie: User) -> int:
    """A pk naming a row of ``model`` in both clients' schemas: a singleton row both have,
    else a new one created in each under the same id."""
    with schema_context("bobsplumbing"):
        bobs = set(model.objects.values_list("pk", flat=True)[:50])
    with schema_context("charlieclinic"):
        shared = sorted(bobs & set(model.objects.values_list("pk", flat=True)[:50]))
    pk = shared[0] if shared else 900_000 + MODELS.index(model)
    with schema_context("charlieclinic"):
        _row(model, owner=charlie, pk=pk)
    with schema_context("bobsplumbing"):
        _row(model, owner=bob, pk=pk)
    return pk


def _log_change(model, pk: int, user: User, host: str, message: str) -> None:
    """Log a change the way the client-data admin does on save (``ModelAdmin.log_change``),
    in the schema the admin's request runs in: Bob's."""
    request = RequestFactory().post("/", HTTP_HOST=host)
    request.user = user
    with schema_context("bobsplumbing"):
        client_data_admin._registry[model].log_change(request, model.objects.get(pk=pk), message)


def _url(model, pk: int | None = None, view: str = "history") -> str:
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    return base if pk is None else f"{base}{pk}/{view}/"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_change_by_one_clients_admin_is_in_that_clients_history_only(world, logged_in, model):
    assert not _in_public(model), f"{model._meta.label} is client data, so it lives in each client's schema"
    pk = _same_pk_in_both(model, world.bob, world.charlie)
    marker = f"Bob changed {model._meta.label} {pk}"
    _log_change(model, pk, world.bob, BOB_HOST, marker)

    charlies = logged_in(world.charlie, CHARLIE_HOST).get(_url(model, pk))
    assert charlies.status_code == HTTPStatus.OK
    page = charlies.content.decode()
    assert marker not in page and "bob@bobs.test" not in page and "Bob Builder" not in page

    bobs = logged_in(world.bob, BOB_HOST).get(_url(model, pk))
    assert bobs.status_code == HTTPStatus.OK and marker in bobs.content.decode()

    # The platform admin reading each client's history through its door sees the same split.
    alice = logged_in(world.alice, PLATFORM_HOST)
    assert marker not in alice.get(f"/clients/charlieclinic{_url(model, pk)}").content.decode()
    assert marker in alice.get(f"/clients/bobsplumbing{_url(model, pk)}").content.decode()


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_recent_actions_list_the_clients_own_entries_only(world, logged_in, model):
    # The list shows the viewer's own actions: the platform admin's, made in Bob's data,
    # must not appear on Charlie's admin nor on the platform's.
    pk = _same_pk_in_both(model, world.bob, world.charlie)
    _log_change(model, pk, world.alice, PLATFORM_HOST, "Alice changed it")
    change_link = f"{_url(model, pk, 'change')}"

    alice = logged_in(world.alice, PLATFORM_HOST)
    bobs = alice.get("/clients/bobsplumbing/admin/").content.decode()
    assert f'href="/clients/bobsplumbing{change_link}"' in bobs
    charlies = alice.get("/clients/charlieclinic/admin/").content.decode()
    assert change_link not in charlies and "None available" in charlies
    platform = alice.get("/admin/").content.decode()
    assert "None available" in platform, "Alice did nothing in the platform's own data"


def test_a_change_saved_in_the_admin_is_logged_in_its_clients_schema(world, logged_in):
    """End to end: Bob saves his knowledge fact on his host; Charlie's fact with the same id
    shows nothing of it, Bob's shows it, and the platform's log holds nothing."""
    from answering.models import KnowledgeFact

    pk = _same_pk_in_both(KnowledgeFact, world.bob, world.charlie)
    bob = logged_in(world.bob, BOB_HOST)
    response = bob.post(_url(KnowledgeFact, pk, "change"), {"title": "Gate code", "body": "4711", "position": 1})
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    assert "Gate code" in bob.get(_url(KnowledgeFact, pk)).content.decode()
    charlies = logged_in(world.charlie, CHARLIE_HOST).get(_url(KnowledgeFact, pk)).content.decode()
    assert "Gate code" not in charlies and "bob@bobs.test" not in charlies
    assert not LogEntry.objects.filter(object_id=str(pk), user=world.bob).exists()  # the public schema's log
    with schema_context("bobsplumbing"):
        assert LogEntry.objects.filter(object_id=str(pk), user=world.bob).count() == 1


def test_a_user_with_history_in_a_client_can_be_deleted(world, logged_in):
    """Deleting a user deletes their log entries in every schema (Django cascades them in
    its own table); nothing is left pointing at a user who is gone."""
    from answering.models import KnowledgeFact

    doomed = User.objects.create_user(email="temp-admin@bobs.test", password="x", role="client_admin",
                                      client=world.bobs, full_name="Temp Admin")
    pk = _same_pk_in_both(KnowledgeFact, world.bob, world.charlie)
    _log_change(KnowledgeFact, pk, doomed, BOB_HOST, "temp")
    response = logged_in(world.alice, PLATFORM_HOST).post(f"/admin/tenants/user/{doomed.pk}/delete/", {"post": "yes"})
    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(pk=doomed.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
    with schema_context("bobsplumbing"):
        assert not LogEntry.objects.filter(user_id=doomed.pk).exists()
