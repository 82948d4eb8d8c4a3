"""What the demo needs for the portal's pages to show something on first start.

``portal_demo_seed(client)`` is idempotent and changes nothing that exists. For each demo
client it adds a client *user* (not an admin: the read-only view of the editors, no
recordings until the admin allows them) and, only when the client has no call records at
all, a few example calls and messages (not delivered: nobody is texted by a seed). Real
messages come from simulated calls (README: Placing a simulated call). On-call people and
policies for Northside are seeded with the delivery work (switchboard/demo.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message
from tenants import services
from tenants.models import Client, Role, User

DEMO_PASSWORD = "switchboard-demo"


def portal_demo_seed(client: Client, *, staff_email: str | None = None) -> None:
    email = staff_email or f"staff@{client.schema_name}.example"
    if not User.objects.filter(email__iexact=email).exists():
        services.user_create(email=email, role=Role.CLIENT_USER, password=DEMO_PASSWORD,
                             full_name=f"{client.name} staff", client=client)
    with schema_context(client.schema_name), transaction.atomic():
        if CallRecord.objects.exists():
            return
        now = timezone.now()
        number = client.phone_numbers.values_list("number", flat=True).first() or ""
        examples = [
            ("+12125550140", 3, 14, 182, "answered", "", {"name": "Jordan Example", "callback_number": "+12125550140",
                                                          "problem": "No hot water since this morning"}, "normal"),
            ("+12125550141", 1, 41, None, "voicemail", "RE" + "0" * 32, {"voicemail": "24 s recording"}, "urgent"),
            ("+12125550142", 0, 95, None, "abandoned", "", None, None),
        ]
        for i, (caller, hours_ago, wait, talk, outcome, recording, fields, urgency) in enumerate(examples):
            at = now - timedelta(hours=hours_ago, minutes=7 * i)
            call = CallRecord.objects.create(
                call_sid=f"CA-demo-{client.schema_name}-{i}", caller=caller, number_dialed=number, arrived_at=at,
                answered_at=at + timedelta(seconds=wait) if talk else None, wait_seconds=wait, talk_seconds=talk,
                ended_at=at + timedelta(seconds=wait + (talk or 24)), outcome=outcome, recording_sid=recording,
                recording_duration=24 if recording else None)
            if fields is not None:
                message = Message.objects.create(
                    caller=caller, callback_number=caller, caller_name=fields.get("name", ""), fields=fields,
                    urgency=urgency, category="voicemail" if recording else "service", call=call,
                    call_sid=call.call_sid, recording_sid=recording,
                    source=Message.Source.VOICEMAIL if recording else Message.Source.CALL)
                Message.objects.filter(pk=message.pk).update(created=at)
