"""The demo world: three clients, their numbers and people. Idempotent — safe on every start."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from answering.flow.services import call_flow_replace
from answering.messages.demo import messages_demo_seed
from answering.scripts.demo import scripts_demo_seed
from answering.services import knowledge_facts_import
from billing.demo import billing_demo_seed
from calendars.demo import calendars_demo_seed
from campaigns.demo import campaigns_demo_seed
from compliance.demo import compliance_demo_seed
from portal.demo import portal_demo_seed
from reports.demo import history_demo_seed, presence_demo_seed
from tenants import selectors, services
from tenants.models import Client, Role, User

DEMO_PASSWORD = "switchboard-demo"


@dataclass(frozen=True)
class DemoClient:
    slug: str
    name: str
    time_zone: str
    languages: tuple[str, ...]
    number: str
    admin_email: str
    facts: tuple[tuple[str, str], ...]
    flow: dict | None = None


WEEKDAYS = range(0, 5)


CLIENTS = (
    DemoClient(
        "northside", "Northside Heating & Plumbing", "America/New_York", ("en",), "+12125550101",
        "office@northside.example",
        (("Hours", "Mon–Fri 7:00–18:00, Sat 8:00–12:00. Emergencies 24/7."),
         ("Service area", "Manhattan, the Bronx and lower Westchester."),
         ("Emergency fee", "After-hours call-out $189, credited against the repair.")),
        flow={
            "record_calls": True,
            "hours": [*((d, "07:00", "18:00") for d in WEEKDAYS), (5, "08:00", "12:00")],
            "options": [
                {"flow": "open", "digit": "1", "label": "Emergency: no heat, leak, gas smell", "action": "queue", "priority": 2},
                {"flow": "open", "digit": "2", "label": "Schedule service", "action": "queue", "priority": 0},
                {"flow": "open", "digit": "3", "label": "Hours and service area", "action": "info",
                 "info_text": {"en": "We are open Monday to Friday seven to six, Saturday eight to noon, and we serve "
                                     "Manhattan, the Bronx and lower Westchester."}},
                {"flow": "after_hours", "digit": "1", "label": "After-hours emergency", "action": "queue", "priority": 2},
                {"flow": "after_hours", "digit": "2", "label": "Leave a message", "action": "voicemail"},
            ],
            "prompts": [
                {"key": "greeting", "text": "Thank you for calling Northside Heating and Plumbing."},
                {"key": "menu", "text": "For an emergency, press 1. To schedule service, press 2. "
                                        "For our hours and service area, press 3."},
                {"key": "after_hours_menu", "text": "If this is an emergency, press 1 and we will dispatch a "
                                                    "technician. To leave a message, press 2."},
            ],
        },
    ),
    DemoClient(
        "bayview", "Bayview Family Clinic", "America/New_York", ("en", "es"), "+13055550102",
        "frontdesk@bayview.example",
        (("Hours", "Mon–Fri 8:00–17:00. Closed weekends and federal holidays."),
         ("Address", "1450 Biscayne Blvd, Miami FL 33132."),
         ("Emergencies", "Medical emergencies: tell the caller to hang up and dial 911.")),
        flow={
            "hours": [(d, "08:00", "17:00") for d in WEEKDAYS],
            "options": [
                {"flow": "open", "digit": "1", "label": "Appointments", "action": "queue", "priority": 0},
                {"flow": "open", "digit": "2", "label": "Prescription refills", "action": "voicemail"},
                {"flow": "open", "digit": "3", "label": "Address and hours", "action": "info",
                 "info_text": {"en": "We are at 1450 Biscayne Boulevard, open Monday to Friday, eight to five.",
                               "es": "Estamos en 1450 Biscayne Boulevard, abierto de lunes a viernes, de ocho a cinco."}},
                {"flow": "after_hours", "digit": "1", "label": "On-call nurse", "action": "queue", "priority": 1},
                {"flow": "after_hours", "digit": "2", "label": "Leave a message", "action": "voicemail"},
            ],
            "prompts": [
                {"key": "greeting", "text": "Thank you for calling Bayview Family Clinic. If this is a medical "
                                            "emergency, hang up and dial 911."},
                {"key": "greeting", "language": "es", "text": "Gracias por llamar a la Clínica Familiar Bayview. "
                                                              "Si es una emergencia médica, cuelgue y marque el 911.",
                 "voice": "Polly.Mia", "tts_language": "es-MX"},
                {"key": "language_choice", "language": "es", "text": "Para español, oprima dos.",
                 "voice": "Polly.Mia", "tts_language": "es-MX"},
                {"key": "menu", "text": "For appointments, press 1. For prescription refills, press 2. "
                                        "For our address and hours, press 3."},
                {"key": "menu", "language": "es", "text": "Para citas, oprima uno. Para recetas, oprima dos. "
                                                          "Para la dirección y el horario, oprima tres.",
                 "voice": "Polly.Mia", "tts_language": "es-MX"},
                {"key": "after_hours_menu", "text": "To speak with the on-call nurse, press 1. To leave a message, press 2."},
                {"key": "after_hours_menu", "language": "es", "text": "Para hablar con la enfermera de guardia, "
                                                                      "oprima uno. Para dejar un mensaje, oprima dos.",
                 "voice": "Polly.Mia", "tts_language": "es-MX"},
            ],
        },
    ),
    DemoClient(
        "harpercole", "Harper & Cole Law", "America/Chicago", ("en",), "+13125550103",
        "intake@harpercole.example",
        (("Practice areas", "Family law, estate planning, small-business contracts."),
         ("Consultations", "First consultation 30 minutes, free; book through intake."),
         ("Policy", "Never give legal advice; take a message for the attorney.")),
        flow={
            "hours": [(d, "08:30", "17:30") for d in WEEKDAYS],
            "options": [
                {"flow": "open", "digit": "1", "label": "New client intake", "action": "queue", "priority": 0},
                {"flow": "open", "digit": "2", "label": "Existing client", "action": "queue", "priority": 1},
                {"flow": "open", "digit": "3", "label": "Billing office", "action": "transfer",
                 "transfer_to": "+13125550188"},
                {"flow": "after_hours", "digit": "1", "label": "Urgent matter (arrest, court date)", "action": "queue",
                 "priority": 1},
                {"flow": "after_hours", "digit": "2", "label": "Leave a message", "action": "voicemail"},
            ],
            "prompts": [
                {"key": "greeting", "text": "Thank you for calling Harper and Cole."},
                {"key": "menu", "text": "New clients, press 1. Existing clients, press 2. Billing, press 3."},
                {"key": "after_hours_menu", "text": "For an urgent matter such as an arrest, press 1. "
                                                    "To leave a message, press 2."},
            ],
        },
    ),
)

STAFF = (
    ("admin@switchboard.example", "Pat Admin", Role.PLATFORM_ADMIN),
    ("supervisor@switchboard.example", "Sam Supervisor", Role.SUPERVISOR),
    ("ana@switchboard.example", "Ana Agent", Role.AGENT),
    ("ben@switchboard.example", "Ben Agent", Role.AGENT),
)


def demo_seed() -> dict[str, Client]:
    """Create whatever of the demo is missing; change nothing that exists."""
    clients: dict[str, Client] = {}
    for demo in CLIENTS:
        client = selectors.client_get_by_slug(demo.slug)
        if client is None:
            client = services.client_provision(
                name=demo.name, slug=demo.slug, time_zone=demo.time_zone, languages=demo.languages,
                numbers=[services.NumberSpec(demo.number, label="Main line")],
            )
            if demo.flow:
                with schema_context(demo.slug):
                    call_flow_replace(**demo.flow)
        clients[demo.slug] = client
        with schema_context(demo.slug):
            knowledge_facts_import(facts=[{"title": t, "body": b} for t, b in demo.facts])
            scripts_demo_seed(demo.slug)
            messages_demo_seed(demo.slug)
            campaigns_demo_seed(demo.slug)
            calendars_demo_seed(demo.slug)
        _user(demo.admin_email, f"{demo.name} office", Role.CLIENT_ADMIN, client)

    with transaction.atomic():
        users = {email: _user(email, name, role) for email, name, role in STAFF}
        services.agent_skills_set(
            user=users["ana@switchboard.example"], clients=list(clients.values()), languages=["en", "es"],
            mode="blended",
        )
        services.agent_skills_set(
            user=users["ben@switchboard.example"], clients=[clients["northside"], clients["harpercole"]],
            languages=["en"], mode="inbound",
        )
    compliance_demo_seed(clients)
    billing_demo_seed(clients)
    for client in clients.values():
        portal_demo_seed(client)
        history_demo_seed(client.schema_name)  # a few weeks of calls for the reports (and billing)
    presence_demo_seed()  # the agents' presence around those calls, across clients: occupancy
    return clients


def _user(email: str, full_name: str, role: str, client: Client | None = None) -> User:
    existing = User.objects.filter(email__iexact=email).first()
    if existing:
        return existing
    return services.user_create(email=email, role=role, password=DEMO_PASSWORD, full_name=full_name, client=client)
