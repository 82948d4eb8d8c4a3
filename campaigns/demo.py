"""The demo's campaigns: one per demo client, not started, with a list of contacts (fictional
555-01xx numbers in the client's area code, each with the consent its channel needs), an
outbound script that merges the contact's fields, and the usual dispositions.

Start one from the portal (Campaigns) or with ``manage.py campaign start northside
"Furnace tune-up reminders"``; with ``make run`` the simulated callees answer its calls.
Idempotent: what exists is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from answering.models import Script
from answering.scripts.services import script_import_json
from campaigns.models import Campaign, Contact, ContactList
from campaigns.services import lifecycle
from compliance import location
from compliance.models import Consent
from compliance.rules import Purpose

FIRST_NAMES = ("Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy", "Jordan",
               "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor")
LAST_NAMES = ("Nguyen", "Garcia", "Smith", "Cohen", "Okafor", "Rossi", "Kim", "Patel", "Silva", "Murphy")


def _script(key: str, name: str, intro: str, question: str, es_intro: str = "") -> dict:
    """An outbound script; with ``es_intro``, Spanish too (a client answering in Spanish needs
    every step in both)."""
    def say(en: str, es: str) -> dict:
        return {"en": en, "es": es} if es_intro else {"en": en}

    return {
        "key": key, "name": name, "used_for": [], "is_default": False,
        "description": "Outbound: the contact's fields are merged in ({first_name}, {fields.<column>}).",
        "steps": [
            {"key": "intro", "say": say(intro, es_intro),
             "fields": [{"name": "interested", "label": question, "type": "yes_no", "required": True}],
             "branches": [{"field": "interested", "equals": "yes", "goto": "book"},
                          {"field": "interested", "equals": "no", "goto": "thanks"}]},
            {"key": "book", "say": say("Wonderful. What day and time suit you best?",
                                       "Perfecto. ¿Qué día y hora le convienen más?"),
             "fields": [{"name": "preferred_time", "label": "Preferred day and time", "type": "text",
                         "required": True}],
             "end": {"action": "log"}},
            {"key": "thanks", "say": say("No problem at all, {first_name}. Thank you for your time.",
                                         "No se preocupe, {first_name}. Gracias por su tiempo."),
             "end": {"action": "log"}},
        ],
    }


CAMPAIGNS = {
    "northside": dict(
        name="Furnace tune-up reminders", purpose=Purpose.INFORMATIONAL, mode=Campaign.Mode.PROGRESSIVE, area="212",
        field=("last_service", ("March 2025", "October 2024", "January 2025")),
        script=_script("outbound_tuneup", "Tune-up reminder",
                       "Hi {first_name}, this is {agent_first_name} from {client_name}. Your furnace was last "
                       "serviced in {fields.last_service}; would you like us to book its yearly tune-up?",
                       "Book a tune-up?")),
    "bayview": dict(
        name="Annual check-up recall", purpose=Purpose.INFORMATIONAL, mode=Campaign.Mode.PREDICTIVE, area="305",
        field=("provider", ("Dr. Alvarez", "Dr. Chen", "Dr. Okoye")),
        script=_script("outbound_recall", "Check-up recall",
                       "Hi {first_name}, this is {agent_first_name} calling from {client_name} on behalf of "
                       "{fields.provider}. You are due for your annual check-up; may I book it for you?",
                       "Book the check-up?",
                       es_intro="Hola {first_name}, le habla {agent_first_name} de {client_name} de parte de "
                                "{fields.provider}. Le toca su chequeo anual; ¿se lo programo?")),
    "harpercole": dict(
        name="Consultation follow-up", purpose=Purpose.INFORMATIONAL, mode=Campaign.Mode.PREVIEW, area="312",
        field=("matter", ("a lease dispute", "an estate plan", "a traffic ticket")),
        script=_script("outbound_consult", "Consultation follow-up",
                       "Hello {first_name}, this is {agent_first_name} from {client_name}, following up on your "
                       "enquiry about {fields.matter}. Would you like a consultation with one of our attorneys?",
                       "Book a consultation?")),
}
CONTACTS = 30


def campaigns_demo_seed(slug: str) -> Campaign | None:
    """The demo campaign of client ``slug`` (call inside its schema); None for a client without one."""
    spec = CAMPAIGNS.get(slug)
    if spec is None:
        return None
    existing = Campaign.objects.filter(name=spec["name"]).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        script = Script.objects.filter(key=spec["script"]["key"]).first() or script_import_json(data=spec["script"])
        campaign = lifecycle.campaign_create(
            name=spec["name"], purpose=spec["purpose"], mode=spec["mode"], script=script,
            window_start=dt.time(9), window_end=dt.time(20), days=[0, 1, 2, 3, 4, 5],
            state_reason="Demo: start it from the portal or with manage.py campaign start <client> <name>.")
        people = ContactList.objects.create(campaign=campaign, name="Demo list", priority=1)
        column, values = spec["field"]
        now = timezone.now()
        for n in range(CONTACTS):
            number = f"+1{spec['area']}5550{n + 130:03d}"  # 555-0130..0159: fictional numbers
            Contact.objects.create(
                campaign=campaign, list=people, number=number, first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
                last_name=LAST_NAMES[n % len(LAST_NAMES)], fields={column: values[n % len(values)]},
                time_zone=(location.number_time_zones(number) or ("",))[0])
            if not Consent.objects.filter(number=number, revoked_at__isnull=True).exists():
                Consent.objects.create(number=number, kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                       evidence="Demo: opted in to reminders on the client's web form.",
                                       obtained_at=now - dt.timedelta(days=30), recorded_by="demo")
    return campaign
