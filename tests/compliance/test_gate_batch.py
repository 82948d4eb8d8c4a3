"""The batch form of the gate (a dialer tick's): the same decision as the one-number form for
every number, each with its own ledger entry."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from compliance.models import Consent, DncEntry, LedgerEntry
from compliance.services import contact_decide, contacts_decide
from tests.compliance.conftest import MIAMI, NY, TULSA, WEEKDAY_AFTERNOON

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("channel", ["voice", "autodialed", "sms"])
def test_a_batch_decides_each_number_as_the_one_number_form_does(world, channel):
    numbers = [NY, MIAMI, TULSA, "not a number", "+19185550143"]
    with tenant_context(world.bobs):
        DncEntry.objects.create(number=MIAMI, source="portal", added_by="tests")
        Consent.objects.create(number=TULSA, kind="express", source="web_form", obtained_at=WEEKDAY_AFTERNOON)
        for at in (WEEKDAY_AFTERNOON, WEEKDAY_AFTERNOON.replace(hour=23)):
            before = LedgerEntry.objects.count()
            batch = contacts_decide(client=world.bobs, contacts=[(n, None) for n in numbers], purpose="informational",
                                    channel=channel, at=at, asked_by="tests")
            one = [contact_decide(client=world.bobs, number=n, purpose="informational", channel=channel, at=at,
                                  asked_by="tests") for n in numbers]
            assert [(d.allowed, d.codes, d.number) for d in batch] == [(d.allowed, d.codes, d.number) for d in one]
            assert LedgerEntry.objects.count() == before + 2 * len(numbers)  # every answer in the ledger
            assert len({d.ledger_id for d in batch}) == len(numbers)
            # Someone may be called in the afternoon (NY by voice; Tulsa, who consented, by any
            # channel), nobody at 23:00.
            assert any(d.allowed for d in batch) == (at.hour == 14)


def test_a_batch_that_fails_decides_each_number_alone_and_fails_closed(world, monkeypatch):
    from compliance.services import gate

    def broken(*args, **kwargs):
        raise RuntimeError("the facts query broke")

    monkeypatch.setattr(gate, "_decide_batch", broken)
    with tenant_context(world.bobs):
        decisions = contacts_decide(client=world.bobs, contacts=[(NY, None), ("nonsense", None)],
                                    purpose="informational", channel="voice", at=WEEKDAY_AFTERNOON, asked_by="tests")
        assert [d.allowed for d in decisions] == [True, False]  # the one-number form answered each
        assert all(LedgerEntry.objects.filter(pk=d.ledger_id).exists() for d in decisions)
        monkeypatch.setattr(gate, "_decide_in", broken)  # and when that fails too: no
        [decision] = contacts_decide(client=world.bobs, contacts=[(NY, None)], purpose="informational",
                                     channel="voice", at=WEEKDAY_AFTERNOON, asked_by="tests")
        assert not decision.allowed and decision.codes == {"gate_error"}
