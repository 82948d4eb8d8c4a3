"""Reads about clients, numbers and people."""

from __future__ import annotations

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django_tenants.utils import get_public_schema_name

from tenants.models import Client, Domain, PhoneNumber

PUBLIC_SCHEMA = get_public_schema_name()


def platform_tenant() -> Client:
    """The platform host's tenant: the public schema, with no client row behind it."""
    return Client(schema_name=PUBLIC_SCHEMA, name="Switchboard platform")


def client_list() -> QuerySet[Client]:
    """Every client with its domains and numbers, ready to print or render."""
    return Client.objects.exclude(schema_name=PUBLIC_SCHEMA).prefetch_related(
        Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain")),
        Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number")),
    )


def client_get_by_slug(slug: str) -> Client | None:
    return Client.objects.exclude(schema_name=PUBLIC_SCHEMA).filter(schema_name=slug).first()


def client_current() -> Client:
    """The client whose schema the connection is in (inside `schema_context`, a task, a
    client host's request). Uses the tenant django-tenants already holds when it matches."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Client) and tenant.schema_name == connection.schema_name:
        return tenant
    return Client.objects.get(schema_name=connection.schema_name)


def client_for_schema(schema: str) -> Client | None:
    """The client whose schema is ``schema`` (never the public schema), or None."""
    if not schema or schema == PUBLIC_SCHEMA:
        return None
    return Client.objects.filter(schema_name=schema).first()


def client_for_number(number: str) -> Client | None:
    """The client that owns a dialed number (E.164), or None."""
    phone = PhoneNumber.objects.select_related("client").filter(number=number).first()
    return phone.client if phone else None
