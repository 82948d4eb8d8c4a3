"""Follow-ups from inbound calls: a caller who asked to be called back (a script's end action
"callback") or hung up waiting in the queue becomes a contact of the client's callbacks
campaign — preview mode, so the agent sees why before dialing, and through the gate like
every other outbound call.

Inside the client's schema.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.models import Contact, ContactList
from campaigns.services import lifecycle
from compliance import location
from tenants.selectors import client_current

logger = logging.getLogger("switchboard.dialer")

FOLLOW_UPS_LIST = "Follow-ups from inbound calls"


@transaction.atomic
def followup_create(*, number: str, reason: str, source_call_sid: str = "", first_name: str = "",
                    fields: dict | None = None, not_before: dt.datetime | None = None) -> Contact | None:
    """Add (or renew) the number in the callbacks campaign. A number already waiting keeps its
    place and gets the newer reason; one whose follow-up is over is called again (a new call,
    a new request); an opted-out number stays out. None for a number that cannot be called
    (withheld, invalid)."""
    e164 = location.normalize(number or "")
    if e164 is None:
        logger.info("no follow-up for %r: not a number we can call", number)
        return None
    campaign = lifecycle.callbacks_campaign()
    follow_ups, _ = ContactList.objects.get_or_create(campaign=campaign, name=FOLLOW_UPS_LIST,
                                                      defaults={"priority": 10})
    zones = location.number_time_zones(e164)
    values = {"reason": reason[:300], "source_call_sid": source_call_sid[:64], "updated": timezone.now()}
    contact = Contact.objects.select_for_update().filter(campaign=campaign, number=e164).first()
    if contact is None:
        return Contact.objects.create(
            campaign=campaign, list=follow_ups, number=e164, first_name=str(first_name or "")[:100],
            time_zone=zones[0] if zones else "", next_attempt_at=not_before,
            fields={k: v for k, v in (fields or {}).items() if isinstance(v, (str, int, float, bool))}, **values)
    if contact.status in (Contact.Status.DNC, Contact.Status.BLOCKED):
        return contact
    if contact.status in (Contact.Status.DONE, Contact.Status.EXHAUSTED):
        values.update(status=Contact.Status.NEW, attempts=0, next_attempt_at=not_before, disposition=None)
    Contact.objects.filter(pk=contact.pk).update(**values)
    contact.refresh_from_db()
    return contact


def abandoned_caller_followup(*, schema: str, call_sid: str, caller: str, waited_seconds: int) -> Contact | None:
    """A caller hung up in the queue: called back when the client wants it and they waited
    long enough for it not to be a misdial (AnsweringSettings)."""
    from answering.selectors import answering_settings_get

    with schema_context(schema):
        settings_row = answering_settings_get()
        if settings_row is not None and not settings_row.callback_abandoned:
            return None
        least = settings_row.callback_abandoned_after_seconds if settings_row is not None else 10
        if waited_seconds < least:
            return None
        at = timezone.localtime(timezone.now(), client_current().tz).strftime("%H:%M")
        return followup_create(number=caller, source_call_sid=call_sid,
                               reason=f"Hung up after {waited_seconds} s waiting in the queue at {at}.")
