"""The demo world: three clients, their numbers and people. Idempotent — safe on every start."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from answering.services import knowledge_facts_import
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


CLIENTS = (
    DemoClient(
        "northside", "Northside Heating & Plumbing", "America/New_York", ("en",), "+12125550101",
        "office@northside.example",
        (("Hours", "Mon–Fri 7:00–18:00, Sat 8:00–12:00. Emergencies 24/7."),
         ("Service area", "Manhattan, the Bronx and lower Westchester."),
         ("Emergency fee", "After-hours call-out $189, credited against the repair.")),
    ),
    DemoClient(
        "bayview", "Bayview Family Clinic", "America/New_York", ("en", "es"), "+13055550102",
        "frontdesk@bayview.example",
        (("Hours", "Mon–Fri 8:00–17:00. Closed weekends and federal holidays."),
         ("Address", "1450 Biscayne Blvd, Miami FL 33132."),
         ("Emergencies", "Medical emergencies: tell the caller to hang up and dial 911.")),
    ),
    DemoClient(
        "harpercole", "Harper & Cole Law", "America/Chicago", ("en",), "+13125550103",
        "intake@harpercole.example",
        (("Practice areas", "Family law, estate planning, small-business contracts."),
         ("Consultations", "First consultation 30 minutes, free; book through intake."),
         ("Policy", "Never give legal advice; take a message for the attorney.")),
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
        clients[demo.slug] = client
        with schema_context(demo.slug):
            knowledge_facts_import(facts=[{"title": t, "body": b} for t, b in demo.facts])
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
    return clients


def _user(email: str, full_name: str, role: str, client: Client | None = None) -> User:
    existing = User.objects.filter(email__iexact=email).first()
    if existing:
        return existing
    return services.user_create(email=email, role=role, password=DEMO_PASSWORD, full_name=full_name, client=client)
