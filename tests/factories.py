"""factory_boy factories for data a test needs beyond the shared world."""

from __future__ import annotations

import factory

from answering.models import KnowledgeFact
from tenants.models import Role, User


class ClientUserFactory(factory.django.DjangoModelFactory):
    """A client's user; pass ``client=``. Password: ``password``."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@client.test")
    full_name = factory.Faker("name")
    role = Role.CLIENT_USER
    password = factory.django.Password("password")


class KnowledgeFactFactory(factory.django.DjangoModelFactory):
    """A knowledge fact in whatever schema is active."""

    class Meta:
        model = KnowledgeFact

    title = factory.Sequence(lambda n: f"Fact {n}")
    body = factory.Faker("sentence")
