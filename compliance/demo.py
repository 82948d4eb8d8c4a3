"""Demo compliance data: a small sample registry, a platform DNC entry, and for each client a
few DNC entries and consents. Idempotent — safe on every start."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import tempfile

from django.utils import timezone
from django_tenants.utils import tenant_context

from compliance.models import Consent
from compliance.platform.models import PlatformDncEntry, RegistryLoad
from compliance.rules import OptOutSource
from compliance.services import opt_out_record, registry_load
from compliance.services.gate import REGISTRY_MAX_AGE_DAYS

logger = logging.getLogger(__name__)

SAMPLE_NAME = "demo-sample-registry.txt"
SAMPLE_SIZE = 5000
# Numbers the demo talks about (555-01xx: reserved for fiction).
ON_REGISTRY = ("+12125550150", "+13055550150", "+13125550150")
PLATFORM_DNC = "+12125550166"
CLIENT_DNC = (("+12125550177", "Asked not to be called again"), ("+13055550177", "Wrong number"))
WRITTEN_CONSENT = "+13055550188"  # also on the registry: consent exempts it
EBR = "+12125550150"  # on the registry, bought something last month


def compliance_demo_seed(clients) -> None:
    """``clients``: the demo's clients (a dict slug -> Client, or any iterable of them)."""
    _sample_registry()
    PlatformDncEntry.objects.get_or_create(number=PLATFORM_DNC, defaults={
        "reason": "Reported a wrong number to the answering service", "source": "demo", "added_by": "demo"})
    now = timezone.now()
    for client in (clients.values() if isinstance(clients, dict) else clients):
        with tenant_context(client):
            for number, reason in CLIENT_DNC:
                opt_out_record(client=client, number=number, source=OptOutSource.PORTAL, added_by="demo", reason=reason)
            Consent.objects.get_or_create(number=WRITTEN_CONSENT, kind=Consent.Kind.EXPRESS_WRITTEN, defaults={
                "source": Consent.Source.WEB_FORM, "obtained_at": now - dt.timedelta(days=20), "recorded_by": "demo",
                "evidence": f"Checked “Yes, {client.name} may text and call me about offers” on the web form."})
            Consent.objects.get_or_create(number=EBR, kind=Consent.Kind.EBR_TRANSACTION, defaults={
                "source": Consent.Source.CALL, "obtained_at": now - dt.timedelta(days=35), "recorded_by": "demo",
                "evidence": "Paid invoice for a service visit."})


def _sample_registry() -> None:
    latest = RegistryLoad.objects.order_by("-file_date", "-loaded_at").first()
    today = timezone.localdate()
    fresh_sample = latest is not None and latest.file_name == SAMPLE_NAME and (today - latest.file_date).days <= 7
    if latest is not None and (latest.file_name != SAMPLE_NAME or fresh_sample):
        if latest.file_name != SAMPLE_NAME and (today - latest.file_date).days > REGISTRY_MAX_AGE_DAYS:
            logger.warning("the DNC registry (%s of %s) is stale; load a fresh file", latest.file_name, latest.file_date)
        return  # a real registry is never replaced by the sample; a recent sample is kept
    rng = random.Random(2024)
    numbers = {f"{rng.choice((212, 305, 312, 415, 512, 718, 813, 918))}{rng.randint(2000000, 9999999)}"
               for _ in range(SAMPLE_SIZE)}
    numbers |= {n[2:] for n in ON_REGISTRY + (WRITTEN_CONSENT,)}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, SAMPLE_NAME)
        with open(path, "w") as handle:
            handle.writelines(f"{n}\n" for n in sorted(numbers))
        registry_load(path=path, kind=RegistryLoad.Kind.FULL, file_date=today, loaded_by="demo")
