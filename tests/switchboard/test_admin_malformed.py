"""The admins answer malformed addresses with a 4xx: a changelist filter the database cannot
take, and "view on site" for an object whose table is not in the schema the request runs in."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import models

from answering.models import CallRecord
from switchboard.admin_sites import client_data_admin
from tenants.models import User
from tests.conftest import BOB_HOST, PLATFORM_HOST

pytestmark = pytest.mark.django_db

MODELS = sorted(client_data_admin._registry, key=lambda model: model._meta.label)


def _changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def _malformed(model) -> list[str]:
    """Queries each field of ``model`` can be given wrong: a NUL byte for anything, words
    for numbers and dates."""
    asked = ["id__gt=abc", "id=%00", "q=%00", "id__in=1,x", "id__gt=1&id__lt=%00"]
    for field in model._meta.concrete_fields:
        if field.choices:
            asked.append(f"{field.name}=%00")
        if isinstance(field, (models.DateTimeField, models.DateField)):
            asked.append(f"{field.name}__gte=notadate")
    return asked


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_malformed_filter_is_a_400_that_says_why(world, logged_in, model):
    bob = logged_in(world.bob, BOB_HOST)
    for query in _malformed(model):
        response = bob.get(f"{_changelist(model)}?{query}")
        assert response.status_code == HTTPStatus.BAD_REQUEST, (query, response.status_code)
        page = response.content.decode()
        assert "This list cannot be filtered that way" in page and 'class="errornote"' in page, query
    assert bob.get(_changelist(model)).status_code == HTTPStatus.OK


def test_the_reason_names_the_field_and_the_value(world, logged_in):
    bob = logged_in(world.bob, BOB_HOST)
    page = bob.get("/admin/answering/callrecord/?id__gt=abc").content.decode()
    assert "expected a number but got" in page and "abc" in page, page[-3000:]
    page = bob.get("/admin/answering/callrecord/?outcome=%00").content.decode()
    assert "“outcome” holds a NUL character" in page
    # A well-formed filter still filters.
    assert bob.get("/admin/answering/callrecord/?outcome=answered&id__gt=0").status_code == HTTPStatus.OK


def test_the_platform_admins_lists_refuse_malformed_filters_too(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    for url in ("/admin/tenants/user/?id__gt=abc", "/admin/tenants/user/?q=%00", "/admin/tenants/client/?status=%00",
                "/admin/tenants/phonenumber/?client__id__exact=abc",
                "/clients/bobsplumbing/admin/answering/callrecord/?arrived_at__gte=notadate"):
        assert alice.get(url).status_code == HTTPStatus.BAD_REQUEST, url


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_view_on_site_for_a_clients_object_is_a_404_on_every_door(world, logged_in, model):
    content_type = ContentType.objects.get_for_model(model)
    alice = logged_in(world.alice, PLATFORM_HOST)
    # The platform admin on the platform host: the client's table is not in the public schema.
    assert alice.get(f"/admin/r/{content_type.pk}/1/").status_code == HTTPStatus.NOT_FOUND
    # Through the client's door and on the client's host: the table is there, but the
    # object has no page on the site.
    assert alice.get(f"/clients/bobsplumbing/admin/r/{content_type.pk}/1/").status_code == HTTPStatus.NOT_FOUND
    bob = logged_in(world.bob, BOB_HOST)
    assert bob.get(f"/admin/r/{content_type.pk}/1/").status_code == HTTPStatus.NOT_FOUND


def test_view_on_site_with_malformed_ids_is_a_404(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    user_type = ContentType.objects.get_for_model(User)
    record_type = ContentType.objects.get_for_model(CallRecord)
    for url in (f"/admin/r/{user_type.pk}/{world.alice.pk}/", f"/admin/r/{user_type.pk}/abc/",
                f"/admin/r/{user_type.pk}/%00/", "/admin/r/999999/1/",
                f"/clients/bobsplumbing/admin/r/{record_type.pk}/99999999999999999999999/"):
        assert alice.get(url).status_code == HTTPStatus.NOT_FOUND, url
