"""The console's campaign work in a real browser: Ana chooses outbound (kept over a reload),
a connected campaign call pops its contact, she books "callback tomorrow 10:00" in the
contact's time zone with the disposition form."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence
from campaigns.models import Contact
from tests.answering.conftest import _open_console
from tests.campaigns.conftest import _campaign, _cleanup, _connected, _contact
from tests.conftest import _push
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def test_an_outbound_agent_books_a_callback_in_the_contacts_time(world, asgi_server, celery_worker, browser,
                                                                  django_db_blocker):
    from answering.acd import consoles

    consoles.forget(world.ana.pk)
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    try:
        _open_console(page, base, "ana@switchboard.test")
        mode = page.locator("#mode")
        assert [o.get_attribute("value") for o in mode.locator("option").all()] == ["blended", "inbound", "outbound"]
        mode.select_option("outbound")
        deadline = time.monotonic() + 10
        while True:
            with django_db_blocker.unblock():
                chosen = AgentPresence.objects.filter(agent=world.ana).values_list("mode", flat=True).first()
            if chosen == "outbound":
                break
            assert time.monotonic() < deadline, "the mode was never saved"
            time.sleep(0.1)
        page.reload()
        page.locator("#status").filter(has_text="offline").wait_for()
        assert page.locator("#mode").input_value() == "outbound"

        with django_db_blocker.unblock():
            campaign = _campaign("T·Renewals")
            contact = _contact(campaign, "+13125550148", first_name="Dana", last_name="Reyes",
                               fields={"policy": "HX-1"}, reason="Asked to be called about her renewal.")
            line = _connected(world, world.ana, campaign, contact)
        _push(f"agent.{world.ana.pk}", {"type": "connected", "call": line.session.pk,
                                        "call_sid": line.session.call_sid})
        page.locator("#outbound").wait_for(state="visible", timeout=10000)
        assert page.locator("#ob-name").inner_text() == "Dana Reyes"
        assert page.locator("#ob-reason").inner_text() == "Why: Asked to be called about her renewal."
        assert "HX-1" in page.locator("#ob-fields").inner_text()
        assert page.locator("#script-say").inner_text().startswith("Hello Dana, this is Ana from Bob's Plumbing")
        assert page.locator("#side-call").is_hidden()  # the inbound panels stay away

        # A sale without an amount is refused at its field.
        page.locator("#dispo-buttons button", has_text="Sale").click()
        page.locator("#dispo-amount").wait_for(state="visible")
        page.locator("#dispo-save").click()
        page.locator("#err-dispo-amount").filter(has_text="A sale needs its amount.").wait_for()

        # Callback tomorrow 10:00, in Dana's time (her 312 number rings in Chicago).
        page.locator("#dispo-buttons button", has_text="Call back later").click()
        assert page.locator("#dispo-amount-wrap").is_hidden()
        tomorrow = (timezone.now().astimezone(CHICAGO) + dt.timedelta(days=1)).date()
        assert page.locator("#dispo-callback-at").input_value() == f"{tomorrow.isoformat()}T10:00"
        assert page.locator("#dispo-zone").inner_text() == "10:00 in the contact's time, America/Chicago"
        page.locator("input[name=callback_to][value=me]").check()
        page.locator("#dispo-notes").fill("Wants the two-year plan quoted")
        page.locator("#dispo-save").click()
        page.locator("#dispo-done").filter(has_text="Call back later").wait_for(timeout=10000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-outbound-disposition.png"), full_page=True)

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            booked = Contact.objects.get(pk=contact.pk)
        assert booked.status == Contact.Status.CALLBACK and booked.callback_agent_id == world.ana.pk
        local = booked.next_attempt_at.astimezone(CHICAGO)
        assert (local.date(), local.hour, local.minute) == (tomorrow, 10, 0)
    finally:
        page.close()
        with django_db_blocker.unblock():
            _cleanup(world)


def test_an_agent_previews_skips_and_is_told_why_a_contact_is_not_dialed(world, asgi_server, celery_worker, browser,
                                                                         django_db_blocker):
    """The preview card: the contact, its reason and script; Skip moves on; Dial of a number on
    the client's DNC list is refused by the gate (whatever the hour) and the card says why."""
    from answering.acd import consoles
    from compliance.services import opt_out_record

    consoles.forget(world.ana.pk)
    with django_db_blocker.unblock():
        campaign = _campaign("T·Callbacks", mode="preview", start=True, world=world)
        _contact(campaign, "+13125550170", first_name="Ari", reason="Hung up in the queue at 9:02.")
        _contact(campaign, "+13125550171", first_name="Bo")
        with schema_context("bobsplumbing"):
            opt_out_record(client=world.bobs, number="+13125550171", source="agent", added_by="test")
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    try:
        _open_console(page, base, "ana@switchboard.test")
        page.locator("#mode").select_option("outbound")
        page.locator("#preview-next").wait_for(state="visible", timeout=10000)
        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()
        page.locator("#preview-next").click()
        page.locator("#preview").wait_for(state="visible", timeout=10000)
        assert page.locator("#preview-name").inner_text() == "Ari"
        assert page.locator("#preview-reason").inner_text() == "Why: Hung up in the queue at 9:02."
        assert page.locator("#preview-script-say").inner_text().startswith("Hello Ari,")
        assert "America/Chicago" in page.locator("#preview-local").inner_text()
        page.locator("#preview-skip-reason").fill("Asked for tomorrow")
        page.locator("#preview-skip").click()
        page.locator("#preview").wait_for(state="hidden")
        page.locator("#preview-next").click()
        page.locator("#preview-name").filter(has_text="Bo").wait_for(timeout=10000)
        page.locator("#preview-dial").click()
        # The gate's words stay on screen (the contact, now DNC, has left the card).
        page.locator("#preview-status").filter(has_text="Not dialed:").wait_for(timeout=10000)
        assert "do-not-call list" in page.locator("#preview-status").inner_text()
        page.wait_for_timeout(500)  # the snapshot after the reply must not wipe them
        assert "Not dialed:" in page.locator("#preview-status").inner_text()
        assert page.locator("#preview").is_hidden() and page.locator("#preview-next").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-preview.png"), full_page=True)
    finally:
        page.close()
        with django_db_blocker.unblock():
            _cleanup(world)
