"""The wallboard's snapshot: agents by name and state with since-timestamps, calls waiting by client
with when they were queued, each client's service level against its own target, and the alerts
from every client's schema — and the pushes that make a wallboard redraw."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd.models import AgentPresence, CallSession, SupervisorAlert
from answering.messages import acknowledge, delivery
from answering.metrics import service_level_risk, wallboard_snapshot
from answering.models import AnsweringSettings, CallRecord, Delivery, Message, Person

pytestmark = pytest.mark.django_db


def _session(client, state, **fields) -> CallSession:
    return CallSession.objects.create(call_sid="CA" + uuid.uuid4().hex, client=client, to_number="+12125550111",
                                      state=state, **fields)


def _answered(n: int, wait: int) -> None:
    now = timezone.now()
    CallRecord.objects.create(call_sid=f"CAwb{uuid.uuid4().hex[:12]}{n}", caller="+12125550100",
                              number_dialed="+12125550111", arrived_at=now, queued_at=now, outcome="answered",
                              wait_seconds=wait, talk_seconds=60, wrap_up_seconds=10)


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_the_snapshot_shows_who_does_what_what_waits_and_since_when(world):
    now = timezone.now()
    AgentPresence.objects.update_or_create(agent=world.ana, defaults={"status": "on_call", "since": now - timedelta(seconds=95)})
    AgentPresence.objects.update_or_create(agent=world.ben, defaults={
        "status": "away", "since": now - timedelta(minutes=7), "reason": "Missed 3 offers in a row."})
    _session(world.charlies, CallSession.State.CONNECTED, agent=world.ana, queued_at=now - timedelta(minutes=2),
             answered_at=now - timedelta(seconds=95))
    urgent = _session(world.bobs, CallSession.State.QUEUED, priority=2, language="es",
                      queued_at=now - timedelta(seconds=40))
    normal = _session(world.bobs, CallSession.State.QUEUED, queued_at=now - timedelta(seconds=70))
    later = _session(world.charlies, CallSession.State.QUEUED, queued_at=now - timedelta(seconds=5))

    snap = wallboard_snapshot()

    agents = {a["name"]: a for a in snap["agents"]}
    assert agents["Ana Agent"]["status"] == "on_call" and agents["Ana Agent"]["client"] == "Charlie's Clinic"
    assert _parse(agents["Ana Agent"]["since"]) == now - timedelta(seconds=95)
    assert agents["Ben Agent"]["status"] == "away" and agents["Ben Agent"]["client"] is None
    assert agents["Ben Agent"]["reason"] == "Missed 3 offers in a row."
    assert _parse(agents["Ben Agent"]["since"]) == now - timedelta(minutes=7)
    assert snap["agent_counts"]["on_call"] >= 1 and _parse(snap["at"]) >= now

    clients = {c["client"]: c for c in snap["clients"]}
    bobs, charlies = clients["bobsplumbing"], clients["charlieclinic"]
    # Queue order (priority first), each call with when it was queued: the browser counts from it.
    assert [c["call"] for c in bobs["calls"]] == [urgent.pk, normal.pk]
    assert bobs["calls"][0] | {"queued_at": None} == {
        "call": urgent.pk, "queued_at": None, "priority": 2, "priority_label": "Emergency", "language": "es",
        "language_label": "Spanish", "state": "queued", "offered_to": None}
    assert _parse(bobs["calls"][0]["queued_at"]) == now - timedelta(seconds=40)
    assert _parse(bobs["oldest_queued_at"]) == now - timedelta(seconds=70) and bobs["waiting"] == 2
    assert bobs["longest_wait"] >= 70
    assert [c["call"] for c in charlies["calls"]] == [later.pk] and charlies["waiting"] == 1


def test_service_level_is_judged_against_each_clients_own_target(world):
    with schema_context("bobsplumbing"):
        AnsweringSettings.objects.update(service_level_target=90)
        for n, wait in enumerate([5, 10, 15, 18, 45]):  # 4 of 5 within 20 s: 80 % against 90 %
            _answered(n, wait)
    with schema_context("charlieclinic"):
        AnsweringSettings.objects.update(service_level_seconds=30)
        for n, wait in enumerate([5, 10, 25, 28, 29, 60]):  # 5 of 6 within 30 s: 83 % against 80 %
            _answered(n, wait)

    clients = {c["client"]: c for c in wallboard_snapshot()["clients"]}

    bobs, charlies = clients["bobsplumbing"], clients["charlieclinic"]
    assert (bobs["service_level"], bobs["service_level_target"], bobs["service_level_seconds"]) == (0.8, 0.9, 20)
    assert bobs["risk"] == "below"
    assert charlies["service_level"] == pytest.approx(5 / 6)
    assert (charlies["service_level_target"], charlies["service_level_seconds"]) == (0.8, 30)
    assert charlies["risk"] == "near"


@pytest.mark.parametrize(("level", "target", "risk"), [
    (None, 0.8, None), (0.5, 0.8, "below"), (0.79, 0.8, "below"), (0.8, 0.8, "near"), (0.849, 0.8, "near"),
    (0.85, 0.8, "ok"), (1.0, 0.8, "ok"), (0.95, 0.95, "near"), (1.0, 1.0, "near")])
def test_the_risk_levels(level, target, risk):
    assert service_level_risk(level, target) == risk


def test_the_alerts_come_from_every_clients_schema_attributed_and_most_severe_first(world):
    now = timezone.now()
    with schema_context("bobsplumbing"):
        urgent = Message.objects.create(caller="+12125550123", callback_number="+12125550123", urgency="urgent",
                                        caller_name="Pat Flood", category="Emergency")
        Message.objects.create(caller="+12125550124", urgency="urgent", acknowledged_at=now)  # someone has it
        Message.objects.create(caller="+12125550125", urgency="normal")  # not urgent
        old = Message.objects.create(caller="+12125550126", urgency="urgent")
        Message.objects.filter(pk=old.pk).update(created=now - timedelta(days=2))  # the escalation's business now
    with schema_context("charlieclinic"):
        dana = Person.objects.create(name="Dr Dana")
        message = Message.objects.create(caller="+13125550140", callback_number="+13125550140", urgency="normal")
        Delivery.objects.create(message=message, channel="sms", person=dana, address="+13125550199",
                                status="failed", due_at=now, failed_at=now - timedelta(minutes=3),
                                error="Twilio: undelivered")
        Delivery.objects.create(message=message, channel="call", person=dana, address="+13125550199",
                                status="failed", due_at=now, failed_at=now, error="Twilio: no-answer")
    exhausted = SupervisorAlert.objects.create(client=world.bobs, kind="unacknowledged", message_id=999999,
                                               text="Bob's Plumbing: urgent message not acknowledged by anyone.")

    attention = [a for a in wallboard_snapshot()["attention"] if a["client"] in ("bobsplumbing", "charlieclinic")]

    assert [(a["kind"], a["client"], a["message"]) for a in attention] == [
        ("unacknowledged", "bobsplumbing", exhausted.message_id),
        ("delivery_failed", "charlieclinic", message.pk),  # the unanswered call-out is not a failure
        ("urgent", "bobsplumbing", urgent.pk),
    ]
    failed, pat = attention[1], attention[2]
    assert failed["client_name"] == "Charlie's Clinic" and "Dr Dana" in failed["text"]
    assert "undelivered" in failed["text"] and "+13125550140" in failed["text"]
    assert _parse(failed["at"]) == now - timedelta(minutes=3)
    assert pat["client_name"] == "Bob's Plumbing" and "Pat Flood" in pat["text"] and "Emergency" in pat["text"]
    with schema_context("bobsplumbing"):
        assert _parse(pat["at"]) == Message.objects.get(pk=urgent.pk).created


def test_a_failure_already_alerted_is_shown_once_and_an_exhausted_message_not_twice(world):
    now = timezone.now()
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125550130", urgency="urgent")
        Delivery.objects.create(message=message, channel="sms", address="+12125550198", status="failed",
                                due_at=now, failed_at=now, error="Unreachable (21211)")
    SupervisorAlert.objects.create(client=world.bobs, kind="delivery_failed", message_id=message.pk,
                                   text="Bob's Plumbing: text message to +12125550198 failed for good")
    SupervisorAlert.objects.create(client=world.bobs, kind="unacknowledged", message_id=message.pk,
                                   text="Bob's Plumbing: urgent message from +12125550130 not acknowledged by anyone.")

    mine = [a for a in wallboard_snapshot()["attention"] if a["message"] == message.pk]

    assert [a["kind"] for a in mine] == ["unacknowledged", "delivery_failed"]
    assert "+12125550198" in mine[1]["text"] and "21211" in mine[1]["text"]


@pytest.fixture
def pushed(monkeypatch):
    sent = []
    monkeypatch.setattr(live, "push", lambda group, payload: sent.append((group, payload)))
    return sent


def test_an_urgent_message_taken_or_acknowledged_redraws_the_wallboards(world, pushed,
                                                                        django_capture_on_commit_callbacks):
    with schema_context("bobsplumbing"), django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = Message.objects.create(caller="+12125550150", urgency="urgent")
        delivery.message_deliver(message=message, client=world.bobs)
    assert (live.SUPERVISORS_GROUP, {"type": "alerts_changed"}) in pushed
    pushed.clear()
    with schema_context("bobsplumbing"), django_capture_on_commit_callbacks(execute=True):
        acknowledge.message_acknowledge(message=message, by="Bob", via="portal", client=world.bobs)
    assert (live.SUPERVISORS_GROUP, {"type": "alerts_changed"}) in pushed


def test_a_normal_message_does_not_redraw_the_wallboards(world, pushed, django_capture_on_commit_callbacks):
    with schema_context("bobsplumbing"), django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = Message.objects.create(caller="+12125550151", urgency="normal")
        delivery.message_deliver(message=message, client=world.bobs)
    assert not [p for p in pushed if p[0] == live.SUPERVISORS_GROUP]


def test_a_delivery_twilio_reports_failed_redraws_the_wallboards(world, pushed, django_capture_on_commit_callbacks):
    with schema_context("bobsplumbing"):
        message = Message.objects.create(caller="+12125550152", urgency="normal")
        attempt = Delivery.objects.create(message=message, channel="sms", address="+12125550197", status="sent",
                                          due_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert delivery.delivery_status_record(delivery=attempt, provider_status="undelivered",
                                                   error_code="30003", client=world.bobs)
    assert (live.SUPERVISORS_GROUP, {"type": "alerts_changed"}) in pushed


def test_an_agent_wrapping_up_two_calls_shows_the_newest_ones_client(world):
    """Back to work during one call's wrap-up, then wrapping up the next: the board names the client
    of the newer call (seen in the #15 drill: the older call's client was shown)."""
    now = timezone.now()
    AgentPresence.objects.update_or_create(agent=world.ana, defaults={"status": "wrap_up", "since": now})
    _session(world.bobs, CallSession.State.WRAP_UP, agent=world.ana, queued_at=now - timedelta(minutes=3))
    _session(world.charlies, CallSession.State.WRAP_UP, agent=world.ana, queued_at=now - timedelta(minutes=1))
    agents = {a["name"]: a for a in wallboard_snapshot()["agents"]}
    assert agents["Ana Agent"]["client"] == "Charlie's Clinic"
