"""The console in a real browser: log in, go available by keyboard, an offer pops, accept with A."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from answering.models import CallRecord
from tests.answering.conftest import _forget, _open_console, _queue_call
from tests.conftest import BOB_SCRIPT
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes


def _push_from_thread(group: str, payload: dict) -> None:
    import threading

    from answering import live

    thread = threading.Thread(target=live.push, args=(group, payload))
    thread.start()
    thread.join(10)


def test_an_agent_takes_a_call_with_the_keyboard(world, asgi_server, celery_worker, browser, django_db_blocker):
    from answering.acd import consoles

    consoles.forget(world.ben.pk)
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    call = None
    try:
        _open_console(page, base, "ben@switchboard.test")

        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()

        call = _queue_call(world, django_db_blocker, from_number="+12125550077")
        page.locator("#offer").wait_for(state="visible", timeout=10000)
        assert page.locator("#offer-client").inner_text() == "Bob's Plumbing"
        assert page.locator("#offer-caller").inner_text() == "+12125550077"

        page.keyboard.press("a")
        page.locator("#call").wait_for(state="visible", timeout=10000)
        assert page.locator("#call-greeting").inner_text() == "Thank you for calling Bob's Plumbing, this is Ben."
        assert page.locator("#status").inner_text() == "on call"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-screen-pop.png"), full_page=True)
        assert Path(ARTIFACTS / "console-screen-pop.png").stat().st_size > 10_000
    finally:
        page.close()
        _forget(world, django_db_blocker, call)


def test_an_agent_is_guided_by_the_script_and_the_message_is_saved(world, asgi_server, celery_worker, browser,
                                                                    django_db_blocker):
    from answering.acd import consoles
    from answering.models import Message, Script
    from answering.scripts.services import script_import_json

    consoles.forget(world.ben.pk)
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        script_import_json(data=BOB_SCRIPT)
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    call = None
    try:
        _open_console(page, base, "ben@switchboard.test")
        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()
        call = _queue_call(world, django_db_blocker, from_number="+12125550078", menu_choice="open:2")
        page.locator("#offer").wait_for(state="visible", timeout=10000)
        page.keyboard.press("a")
        page.locator("#script").wait_for(state="visible", timeout=10000)
        assert page.locator("#script-say").inner_text() == "Bob's Plumbing, this is Ben. Is anyone in danger?"

        # Keyboard only: pick "no", Enter; the branch leads to the details step. A snapshot
        # arriving meanwhile (the call's state changed) must not wipe the answer.
        page.locator("#f-in_danger").select_option("no")
        _push_from_thread(f"agent.{world.ben.pk}", {"type": "call_changed", "call": call.pk})
        page.wait_for_timeout(500)
        assert page.locator("#f-in_danger").input_value() == "no"
        page.keyboard.press("Enter")
        page.locator("#script-say").filter(has_text="May I have your name").wait_for()
        page.keyboard.type("Dana Reyes")
        page.keyboard.press("Tab")
        page.keyboard.type("(212) 555-0147")
        page.keyboard.press("Enter")
        page.locator("#message-take").wait_for(state="visible")
        page.keyboard.press("Enter")  # the Save button has the focus
        page.locator("#finish").wait_for(state="visible")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-script-message.png"), full_page=True)

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            message = Message.objects.get(call_sid=call.call_sid)
            assert message.fields["name"] == "Dana Reyes"
            assert message.callback_number == "+12125550147"
            assert message.category == "service"
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            assert not Message.objects.filter(call_sid=call.call_sid).exists()

        page.keyboard.press("f")
        page.locator("#script").wait_for(state="visible")  # the call screen stays until the caller is gone
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            deadline = time.monotonic() + 10
            while CallRecord.objects.get(call_sid=call.call_sid).disposition != "message_taken":
                assert time.monotonic() < deadline, "the disposition was never recorded"
                time.sleep(0.1)
    finally:
        page.close()
        _forget(world, django_db_blocker, call)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            Script.objects.filter(key="service").delete()
