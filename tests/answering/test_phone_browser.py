"""The browser phone in Chromium, with the simulated device: a call played by the simulator
against the real server — the offer rings (and notifies an agent looking elsewhere), accept,
the console's phone answers the agent's leg, hold and resume (the caller hears the hold
audio), mute shows, hang up."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.models import CallRecord
from answering.twilio.simulator import SimulatedCall, http_transport
from tests.answering.conftest import BOB_NUMBER
from tests.conftest import PASSWORD
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes

# The page is looking elsewhere (another tab), and every notification it shows is recorded.
LOOKING_ELSEWHERE = """
Object.defineProperty(document, "hidden", {get: () => true});
Object.defineProperty(document, "visibilityState", {get: () => "hidden"});
window.__notes = [];
const Real = window.Notification;
function Recording(title, options) { window.__notes.push(title); return new Real(title, options); }
Object.defineProperty(Recording, "permission", {get: () => Real.permission});
Recording.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recording;
"""


def test_an_offer_rings_the_browser_phone_answers_and_the_agent_holds_mutes_and_hangs_up(
        world, open_flow, asgi_server, celery_worker, browser, django_db_blocker):
    from answering.acd import consoles

    consoles.forget(world.ben.pk)
    base = f"http://localhost:{asgi_server}"
    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(LOOKING_ELSEWHERE)
    page = context.new_page()
    call = SimulatedCall(to=BOB_NUMBER, from_="+12125550066", digits=["2"], say=lambda line: None,
                         transport=http_transport(f"http://127.0.0.1:{asgi_server}", host="localhost"),
                         hold_poll_seconds=0.1, max_queue_seconds=30, max_conference_seconds=60)
    caller = threading.Thread(target=call.run, daemon=True)
    try:
        page.goto(f"{base}/accounts/login/?next=/console/")
        page.locator("#id_username").fill("ben@switchboard.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/console/")
        page.locator("#status").filter(has_text="offline").wait_for()
        assert page.evaluate("Notification.permission") == "granted"

        page.locator("[data-status=available]").click()  # the first click: sound and notifications allowed
        page.locator("#phone[data-phone=ready]").wait_for(timeout=10000)
        assert page.locator("#phone .phone-state").inner_text() == "Phone ready"
        assert page.locator("#phone[data-simulated='1']").count() == 1

        caller.start()
        page.locator("#offer").wait_for(state="visible", timeout=15000)
        page.locator("#phone[data-ringing='1']").wait_for(timeout=5000)
        offer_call = page.evaluate("window.switchboardConsole.state().offer.call")
        assert page.locator("#phone").get_attribute("data-notified") == str(offer_call)
        assert page.evaluate("window.__notes") == ["Incoming call · Bob's Plumbing"]

        page.locator("#accept").click()
        page.locator("#phone[data-ringing='0']").wait_for(timeout=5000)  # accepted: the ring stops
        # The simulator rang the agent's leg; the console's phone answered it.
        page.locator("#phone[data-phone=in-call]").wait_for(timeout=15000)
        _until(lambda: call.outcome == "answered")  # the simulator heard the leg answered
        with django_db_blocker.unblock():
            _until(lambda: CallSession.objects.get(call_sid=call.call_sid).conference.get("agent_joined"))
            session = CallSession.objects.get(call_sid=call.call_sid)
        assert page.locator("#phone").get_attribute("data-answered") == session.conference["agent_leg"]

        hold = page.locator("#call-controls [data-control=hold]")
        hold.wait_for(timeout=10000)
        page.wait_for_function("!document.querySelector('#call-controls [data-control=hold]').disabled", timeout=10000)
        heard_before = len(call.heard)
        hold.click()
        page.locator("#call-controls .pill.held").wait_for(timeout=10000)
        _until(lambda: call.on_hold_now and len(call.heard) >= heard_before + 2)  # the simulator's own pace
        assert call.heard[heard_before:] == ["say:Please hold.", f"play:{_default_music()}"]
        page.locator("#call-controls [data-control=resume]").click()
        page.locator("#call-controls [data-control=hold]").wait_for(timeout=10000)
        _until(lambda: not call.on_hold_now)

        page.locator("#call-controls [data-control=mute]").click()
        page.locator("#call-controls .pill.muted").wait_for(timeout=5000)
        mute = page.locator("#call-controls [data-control=mute]")
        assert mute.get_attribute("aria-pressed") == "true" and mute.inner_text() == "Unmute"
        assert page.evaluate("window.SwitchboardSimDevice !== undefined")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-phone-controls.png"), full_page=True)

        page.locator("#call-controls [data-control=hangup]").click()
        caller.join(20)
        assert not caller.is_alive() and call.outcome == "answered"
        page.locator("#status[data-status=wrap_up]").wait_for(timeout=10000)
        page.locator("#phone[data-phone=ready]").wait_for(timeout=10000)  # the leg is over; the phone waits
        assert page.locator("#call-controls [data-control]").count() == 0
    finally:
        call.hang_up()
        caller.join(10) if caller.is_alive() else None
        page.close()
        context.close()
        with django_db_blocker.unblock():
            with schema_context("bobsplumbing"):
                CallRecord.objects.filter(call_sid=call.call_sid).delete()
            CallSession.objects.filter(call_sid=call.call_sid).delete()
            AgentPresence.objects.filter(agent=world.ben).delete()
        _phones_forget(world.ben)


def _phones_forget(*agents) -> None:
    """No simulated phone left registered for the next test's simulator to ring."""
    from answering.acd.services import controls
    from switchboard.redis_clients import redis_client

    for agent in agents:
        redis_client(timeout=2).delete(controls.SIM_DEVICE.format(identity=controls.agent_identity(agent.pk)))


def _until(done, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the simulated caller did not get there in time"
        time.sleep(0.05)


def _default_music() -> str:
    from answering.twilio.twiml import DEFAULT_HOLD_MUSIC

    assert settings.TWILIO_MODE == "simulate"
    return DEFAULT_HOLD_MUSIC


def _console(browser, base: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.locator("#id_username").fill("ben@switchboard.test")
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console/")
    page.locator("#status").filter(has_text="offline").wait_for()
    return context, page


def test_a_token_the_server_refuses_is_said_plainly_on_the_phone(world, asgi_server, celery_worker, browser,
                                                                   django_db_blocker):
    base = f"http://localhost:{asgi_server}"
    context, page = _console(browser, base)
    try:
        page.route("**/agent/voice-token", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": "The browser phone is not configured: set TWILIO_API_KEY_SID."}'))
        page.locator("[data-status=available]").click()
        page.locator("#phone .phone-error").filter(has_text="The browser phone is not configured").wait_for(timeout=10000)
        assert page.locator("#phone[data-phone=error]").count() == 1
    finally:
        page.close()
        context.close()
        with django_db_blocker.unblock():
            AgentPresence.objects.filter(agent=world.ben).delete()


def test_with_twilio_the_vendored_sdk_loads_and_a_missing_microphone_is_said_plainly(world, asgi_server, celery_worker,
                                                                                      browser, django_db_blocker):
    """Live mode's phone: Twilio's Voice SDK from the project's own static files (the page's
    policy allows no other host), and the microphone asked for before any caller waits."""
    base = f"http://localhost:{asgi_server}"
    context, page = _console(browser, base)
    try:
        page.route("**/agent/voice-token", lambda route: route.fulfill(
            status=200, content_type="application/json",
            body='{"identity": "agent-1", "token": "not-a-real-token", "ttl": 3600, "simulated": false}'))
        page.locator("[data-status=available]").click()
        page.locator("#phone .phone-error").filter(has_text="icrophone").wait_for(timeout=15000)
        assert page.evaluate("typeof window.Twilio.Device") == "function"
        assert page.evaluate("Array.from(document.scripts).some((s) => s.src.endsWith("
                             "'/static/vendor/twilio-voice-sdk/twilio.min.js'))")
        assert page.locator("#phone .phone-error").inner_text() in (
            ("Microphone blocked: allow the microphone for this site (the lock in the address bar), then reload."
             " (trying again in a minute)"),
            "No microphone found: plug in a headset, then reload. (trying again in a minute)")
    finally:
        page.close()
        context.close()
        with django_db_blocker.unblock():
            AgentPresence.objects.filter(agent=world.ben).delete()


def test_an_agent_transfers_a_caller_to_a_colleague_whose_browser_phone_answers(
        world, open_flow, asgi_server, celery_worker, browser, django_db_blocker):
    from answering.acd import consoles

    for agent in (world.ben, world.ana):
        consoles.forget(agent.pk)
    base = f"http://localhost:{asgi_server}"
    ben_context, ben = _console(browser, base)
    ana_context = browser.new_context()
    ana = ana_context.new_page()
    call = SimulatedCall(to=BOB_NUMBER, from_="+12125550065", digits=["2"], say=lambda line: None,
                         transport=http_transport(f"http://127.0.0.1:{asgi_server}", host="localhost"),
                         hold_poll_seconds=0.1, max_queue_seconds=30, max_conference_seconds=60)
    caller = threading.Thread(target=call.run, daemon=True)
    try:
        ben.locator("[data-status=available]").click()
        ben.locator("#phone[data-phone=ready]").wait_for(timeout=10000)
        caller.start()
        ben.locator("#offer").wait_for(state="visible", timeout=15000)
        ben.locator("#accept").click()
        ben.locator("#phone[data-phone=in-call]").wait_for(timeout=15000)

        ana.goto(f"{base}/accounts/login/?next=/console/")
        ana.locator("#id_username").fill("ana@switchboard.test")
        ana.locator("#id_password").fill(PASSWORD)
        ana.keyboard.press("Enter")
        ana.wait_for_url(f"{base}/console/")
        ana.locator("[data-status=available]").click()
        ana.locator("#phone[data-phone=ready]").wait_for(timeout=10000)

        warm = ben.locator("#call-controls .colleagues [data-control=transfer]").first  # the list is asked again
        warm.wait_for(timeout=10000)
        assert "Ana" in ben.locator("#call-controls .colleagues").inner_text()
        warm.click()

        ana.locator("#phone[data-transfer=ringing]").wait_for(timeout=10000)
        assert "Transfer from Ben Agent · Bob's Plumbing · +12125550065" in ana.locator("#phone .phone-transfer").inner_text()
        ana.locator("#phone [data-control=transfer-answer]:not([disabled])").click(timeout=10000)
        ana.locator("#phone[data-transfer=talking]").wait_for(timeout=5000)

        ben.locator("#call-controls [data-third=talking]").wait_for(timeout=10000)
        ben.get_by_role("button", name="Join the caller to them").click()
        ana.locator("#call").wait_for(state="visible", timeout=10000)  # the call is Ana's now
        ana.locator("#call-controls [data-control=hangup]").wait_for(timeout=10000)
        ben.locator("#status[data-status=available]").wait_for(timeout=10000)
        assert not call.on_hold_now and call.outcome == "answered"

        ana.locator("#call-controls [data-control=hangup]").click()
        caller.join(20)
        assert not caller.is_alive()
        ana.locator("#status[data-status=wrap_up]").wait_for(timeout=10000)
    finally:
        call.hang_up()
        caller.join(10) if caller.is_alive() else None
        for context in (ben_context, ana_context):
            context.close()
        with django_db_blocker.unblock():
            with schema_context("bobsplumbing"):
                CallRecord.objects.filter(call_sid=call.call_sid).delete()
            CallSession.objects.filter(call_sid=call.call_sid).delete()
            AgentPresence.objects.filter(agent__in=[world.ben, world.ana]).delete()
        _phones_forget(world.ben, world.ana)


def test_a_whole_call_on_the_browser_phone_whose_caller_hangs_up_mid_script(
        world, open_flow, asgi_server, celery_worker, browser, django_db_blocker):
    """The issue's whole call: the offer rings and notifies, accept, the browser phone answers,
    hold and resume, the caller hangs up mid-script, the agent still saves what was taken, the
    wrap-up ends."""
    from answering.acd import consoles
    from answering.models import AnsweringSettings, Message, Script
    from answering.scripts.services import script_import_json
    from tests.conftest import BOB_SCRIPT

    consoles.forget(world.ben.pk)
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        script_import_json(data=BOB_SCRIPT)
        wrap_before = AnsweringSettings.objects.get().wrap_up_seconds
        AnsweringSettings.objects.update(wrap_up_seconds=2)
    base = f"http://localhost:{asgi_server}"
    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(LOOKING_ELSEWHERE)
    page = context.new_page()
    call = SimulatedCall(to=BOB_NUMBER, from_="+12125550067", digits=["2"], say=lambda line: None,
                         transport=http_transport(f"http://127.0.0.1:{asgi_server}", host="localhost"),
                         hold_poll_seconds=0.1, max_queue_seconds=30, max_conference_seconds=90)
    caller = threading.Thread(target=call.run, daemon=True)
    try:
        page.goto(f"{base}/accounts/login/?next=/console/")
        page.locator("#id_username").fill("ben@switchboard.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/console/")
        page.locator("#status").filter(has_text="offline").wait_for()
        page.locator("[data-status=available]").click()
        page.locator("#phone[data-phone=ready]").wait_for(timeout=10000)

        caller.start()
        page.locator("#offer").wait_for(state="visible", timeout=15000)
        page.locator("#phone[data-ringing='1']").wait_for(timeout=5000)
        assert page.evaluate("window.__notes") == ["Incoming call · Bob's Plumbing"]
        page.locator("#accept").click()
        page.locator("#phone[data-phone=in-call]").wait_for(timeout=15000)
        _until(lambda: call.outcome == "answered")

        # The script's first step, one greeting; hold and resume while the caller thinks.
        page.locator("#script-say").filter(has_text="Is anyone in danger?").wait_for(timeout=10000)
        assert page.locator("#call-say").is_hidden()
        hold = page.locator("#call-controls [data-control=hold]")
        hold.wait_for(timeout=10000)
        page.wait_for_function("!document.querySelector('#call-controls [data-control=hold]').disabled", timeout=10000)
        hold.click()
        page.locator("#call-controls .pill.held").wait_for(timeout=10000)
        _until(lambda: call.on_hold_now)
        page.locator("#call-controls [data-control=resume]").click()
        page.locator("#call-controls [data-control=hold]").wait_for(timeout=10000)
        _until(lambda: not call.on_hold_now)

        page.locator("#f-in_danger").select_option("no")
        page.locator("#script-next").click()
        page.locator("#script-say").filter(has_text="May I have your name").wait_for()
        page.locator("#f-name").fill("Robin Vale")

        # The caller hangs up before giving a number: what was taken is kept, the wrap-up waits.
        call.hang_up()
        caller.join(20)
        assert not caller.is_alive()
        page.locator("#call-notice").filter(has_text="Caller hung up").wait_for(timeout=10000)
        assert page.locator("#f-name").input_value() == "Robin Vale"
        page.wait_for_timeout(3000)  # longer than the client's wrap-up: it waits for the save
        assert page.locator("#call-state").inner_text() == "wrap-up · waits until you save"

        page.locator("#save-taken").click()
        page.locator("#finish").wait_for(state="visible", timeout=10000)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            message = Message.objects.get(call_sid=call.call_sid)
            assert message.fields["name"] == "Robin Vale"
            assert CallRecord.objects.get(call_sid=call.call_sid).caller_hung_up
        page.locator("#finish").click()
        page.locator("#status").filter(has_text="available").wait_for(timeout=15000)
        assert page.locator("#call").is_hidden()
    finally:
        call.hang_up()
        caller.join(10) if caller.is_alive() else None
        page.close()
        context.close()
        with django_db_blocker.unblock():
            with schema_context("bobsplumbing"):
                Message.objects.filter(call_sid=call.call_sid).delete()
                CallRecord.objects.filter(call_sid=call.call_sid).delete()
                Script.objects.filter(key="service").delete()
                AnsweringSettings.objects.update(wrap_up_seconds=wrap_before)
            CallSession.objects.filter(call_sid=call.call_sid).delete()
            AgentPresence.objects.filter(agent=world.ben).delete()
        _phones_forget(world.ben)
