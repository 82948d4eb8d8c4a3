"""Bob's DNC entries, consents and ledger never affect or show to Charlie's clinic; the platform
list and the registry apply to every client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from compliance.models import Consent, DncEntry, LedgerEntry
from compliance.platform.models import PlatformDncEntry
from compliance.rules import OptOutSource
from compliance.services import consent_record, opt_out_record

from .conftest import NY, ON_REGISTRY, WEEKDAY_AFTERNOON

pytestmark = pytest.mark.django_db


def test_a_clients_dnc_entry_and_consent_never_affect_another_client(world, registry, decide):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.PORTAL, added_by="bob")
        consent_record(client=world.bobs, number=ON_REGISTRY, kind=Consent.Kind.EXPRESS_WRITTEN,
                       source=Consent.Source.WEB_FORM, obtained_at=WEEKDAY_AFTERNOON - dt.timedelta(days=1),
                       recorded_by="bob")
    assert decide(world.bobs, NY).codes == {"client_dnc"}
    assert decide(world.charlies, NY).allowed
    assert decide(world.bobs, ON_REGISTRY, channel="sms").allowed  # Bob's written consent exempts it for Bob
    assert decide(world.charlies, ON_REGISTRY, channel="sms").codes == {"national_dnc", "consent_missing"}
    with tenant_context(world.charlies):
        assert not DncEntry.objects.exists() and not Consent.objects.exists()
        assert not LedgerEntry.objects.filter(asked_by="bob").exists()


def test_the_platform_list_and_the_registry_apply_to_every_client(world, registry, decide):
    PlatformDncEntry.objects.create(number=NY, reason="litigator", added_by="alice")
    for client in (world.bobs, world.charlies):
        assert decide(client, NY).codes == {"platform_dnc"}
        assert decide(client, ON_REGISTRY).codes == {"national_dnc"}


def test_each_clients_ledger_holds_only_its_own_decisions(world, registry, decide):
    bobs = decide(world.bobs, NY, asked_by="dialer:bob")
    charlies = decide(world.charlies, NY, asked_by="dialer:charlie")
    with tenant_context(world.bobs):
        assert set(LedgerEntry.objects.values_list("asked_by", flat=True)) == {"dialer:bob"}
        assert LedgerEntry.objects.filter(pk=bobs.ledger_id).exists()
    with tenant_context(world.charlies):
        assert set(LedgerEntry.objects.values_list("asked_by", flat=True)) == {"dialer:charlie"}
        assert LedgerEntry.objects.filter(pk=charlies.ledger_id).exists()


def test_compliance_tables_live_where_they_should(world):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.compliance_dncentry'), to_regclass('public.compliance_ledgerentry'),"
                       " to_regclass('bobsplumbing.compliance_platform_registrynumber'),"
                       " to_regclass('public.compliance_platform_registrynumber')")
        assert cursor.fetchone() == (None, None, None, "compliance_platform_registrynumber")
