"""The portal in a real browser (Chromium): a client user has the inbox open, an agent takes a
message, it appears without a reload; she opens it and acknowledges it; the escalation stops —
and her phone, open on the same message, shows the acknowledgement live."""

from __future__ import annotations

import threading
import uuid
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer
from answering.models import (
    Delivery,
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Person,
    Rotation,
    RotationMember,
    Team,
)
from tests.conftest import BOB_HOST, BOB_SCRIPT, PASSWORD
from tests.processes import ARTIFACTS, TEST_QUEUE

pytestmark = pytest.mark.processes
PHONE = {"width": 390, "height": 844}
HELD_QUEUE = f"{TEST_QUEUE}-held"


@pytest.fixture
def committed_oncall(world, django_db_blocker):
    """Bob's on-call technicians and a policy that texts whoever is on call, committed so the
    server process sees them; removed afterwards with the messages the test took."""
    from switchboard.celery import app

    # No worker takes these tasks: the first text stays queued, so its cancellation can be
    # seen. They go to a queue of this test's own (not even this session's worker listens to
    # it), dropped afterwards.
    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, HELD_QUEUE
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        dana = Person.objects.create(name=f"Dana {tag}", mobile="+12125550161")
        team = Team.objects.create(name=f"Technicians {tag}")
        rotation = Rotation.objects.create(team=team, period="daily", handover_time=time(8),
                                           starts_on=timezone.localdate() - timedelta(days=3))
        RotationMember.objects.create(rotation=rotation, person=dana, position=1)
        policy = EscalationPolicy.objects.create(name=f"Everything {tag}", repeat=2)
        EscalationStep.objects.create(policy=policy, position=1, channel="sms", target="on_call", team=team,
                                      wait_minutes=10)
        rule = DeliveryRule.objects.create(position=0, policy=policy)
    call_sids: list[str] = []
    yield call_sids
    app.conf.task_default_queue = previous_queue
    with django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            ids = list(Message.objects.filter(call_sid__in=call_sids).values_list("pk", flat=True))
            deliveries = list(Delivery.objects.filter(message_id__in=ids).values_list("pk", flat=True))
            Message.objects.filter(pk__in=ids).delete()
            rule.delete()
            policy.delete()
            team.delete()
            dana.delete()
        OutboxTimer.objects.filter(client=world.bobs, object_id__in=ids + deliveries).delete()
    from switchboard.redis_clients import redis_client

    redis_client(timeout=5).delete(HELD_QUEUE)


def _take_message(django_db_blocker, call_sid: str) -> None:
    """What the console's Save does, from a thread of its own (committed, pushed after commit)."""
    from answering.messages.services import message_take
    from answering.scripts.services import script_import_json

    def take():
        from django.db import connection

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            script = script_import_json(data=BOB_SCRIPT)
            message_take(version=script.current_version, call_sid=call_sid, caller="+12125550199",
                         answers={"in_danger": "no", "name": "Quinn Rivera", "callback_number": "(212) 555-0199"})
        connection.close()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(20)


def _log_in(context, base: str, email: str):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    page.locator("html[data-live=connected]").wait_for(state="attached", timeout=10000)
    return page


def test_a_message_appears_live_and_acknowledging_it_stops_the_escalation(world, asgi_server, browser,
                                                                         django_db_blocker, committed_oncall):
    base = f"http://{BOB_HOST}:{asgi_server}"
    desk = browser.new_context(viewport={"width": 1280, "height": 860})
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = _log_in(desk, base, "bea@bobs.test")
        assert page.locator("h1").inner_text() == "Messages"
        page.evaluate("window.__notReloaded = true")

        call_sid = "CA" + uuid.uuid4().hex
        committed_oncall.append(call_sid)
        _take_message(django_db_blocker, call_sid)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            message = Message.objects.get(call_sid=call_sid)
            assert list(message.deliveries.values_list("status", flat=True)) == ["queued"]

        row = page.locator(f'#message-list tr[data-message-id="{message.pk}"]')
        row.wait_for(timeout=10000)
        assert "Quinn Rivera" in row.inner_text() and "Escalating" in row.inner_text()
        assert page.evaluate("window.__notReloaded") is True  # it came without a reload
        assert int(page.locator("#unacknowledged").inner_text()) >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "portal-inbox-desktop.png"), full_page=True)

        # Her phone: the inbox as cards, then the same message, left open.
        mobile = _log_in(phone, base, "bea@bobs.test")
        mobile.locator(f'tr[data-message-id="{message.pk}"]').wait_for()
        assert mobile.locator("#message-list thead").is_hidden()  # a table no more: cards
        assert mobile.locator(".portal-nav").is_hidden()  # the menu is folded away
        mobile.screenshot(path=str(ARTIFACTS / "portal-inbox-phone.png"), full_page=True)
        mobile.locator(f'tr[data-message-id="{message.pk}"] a.row-link').click()
        mobile.wait_for_url(f"{base}/messages/{message.pk}/")
        mobile.locator("html[data-live=connected]").wait_for(state="attached")

        row.locator("a.row-link").click()
        page.wait_for_url(f"{base}/messages/{message.pk}/")
        assert page.locator("h1").inner_text() == "Quinn Rivera"
        assert page.locator(".callback a").get_attribute("href") == "tel:+12125550199"
        assert page.locator('.deliveries tr[data-status="queued"]').count() == 1
        page.locator("#acknowledge").click()
        page.locator("#ack-state").filter(has_text="Acknowledged").wait_for()
        page.locator("#timeline li.acknowledged").filter(has_text="1 pending attempt cancelled").wait_for()
        assert page.locator('.deliveries tr[data-status="cancelled"]').count() == 1
        assert page.locator("#acknowledge").count() == 0
        page.screenshot(path=str(ARTIFACTS / "portal-message-acknowledged-desktop.png"), full_page=True)

        # The phone had the message open: the acknowledgement arrives there live.
        mobile.locator("#timeline li.acknowledged").wait_for(timeout=10000)
        assert mobile.locator("#acknowledge").count() == 0
        mobile.screenshot(path=str(ARTIFACTS / "portal-message-acknowledged-phone.png"), full_page=True)

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            message.refresh_from_db()
            assert message.acknowledged_via == "portal" and "bea@bobs.test" in message.acknowledged_by
            assert message.escalation == Message.Escalation.ACKNOWLEDGED
            assert list(message.deliveries.values_list("status", flat=True)) == ["cancelled"]
        with django_db_blocker.unblock():
            assert not OutboxTimer.objects.filter(client=world.bobs, kind=OutboxTimer.Kind.ESCALATION,
                                                  object_id=message.pk).exists()
        # The schedules she may read (not edit): who is on call now and next, and the policy.
        page.goto(f"{base}/oncall/")
        assert page.locator(".team [data-now]").filter(has_text="Dana").count() == 1
        page.screenshot(path=str(ARTIFACTS / "portal-oncall-desktop.png"), full_page=True)
        page.goto(f"{base}/policies/")
        assert "whoever is on call for Technicians" in page.locator(".policy").last.inner_text()
        page.screenshot(path=str(ARTIFACTS / "portal-policies-desktop.png"), full_page=True)
        for name in ("portal-inbox-desktop", "portal-inbox-phone", "portal-message-acknowledged-desktop",
                     "portal-message-acknowledged-phone"):
            assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
    finally:
        desk.close()
        phone.close()
