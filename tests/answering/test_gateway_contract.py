"""The gateway's REST calls, checked by Prism against Twilio's own OpenAPI description.

Prism (installed by `make test`) serves tests/contracts/twilio_api_v2010.prism.json and
validates every request: paths, required fields, enums, absolute URLs, Basic auth. A
request Twilio would refuse comes back as a 422 — exactly what this test wants to catch.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from answering.twilio.gateway import GatewayError, LiveGateway, NotConfigured, SimulatedGateway
from tests.processes import ROOT, _port_open, _stop, _wait_for, free_port

pytestmark = pytest.mark.processes
SPEC = Path(__file__).resolve().parent.parent / "contracts" / "twilio_api_v2010.prism.json"  # see its README
PRISM = ROOT / "var" / "node" / "node_modules" / ".bin" / "prism"
ACCOUNT = "AC" + "a" * 32
CALL = "CA" + "b" * 32


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    if not PRISM.exists():
        raise RuntimeError(f"Prism is not installed at {PRISM}; `make test` installs it.")
    if not SPEC.exists():
        raise RuntimeError(f"Twilio's API description is missing at {SPEC} .")
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    with open(log, "wb") as out:
        process = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for(lambda: _port_open(port), process, log, "Prism", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture
def gateway(prism):
    return LiveGateway(ACCOUNT, "token", base_url=prism)


def test_redirecting_a_live_call_is_a_valid_twilio_request(gateway):
    gateway.call_redirect(CALL, "https://switchboard.example.com/twilio/voice/connect/" + CALL)


def test_ending_a_call_is_a_valid_twilio_request(gateway):
    gateway.call_end(CALL)


def test_dequeuing_a_caller_is_a_valid_twilio_request(gateway):
    gateway.queue_dequeue("QU" + "c" * 32, CALL, "https://switchboard.example.com/twilio/voice/connect/" + CALL)


def test_fetching_a_recording_is_a_valid_twilio_request(gateway):
    recording = gateway.recording_fetch("RE" + "d" * 32)
    assert recording.sid.startswith("RE")


def test_texting_an_on_call_person_is_a_valid_twilio_request(gateway):
    sent = gateway.sms_send(to="+12125550201", from_="+12125550111", body="[Bob's Plumbing] URGENT message",
                            status_callback="https://switchboard.example.com/twilio/messaging/status?client=bobs")
    assert sent.sid.startswith(("SM", "MM"))


def test_a_call_out_is_a_valid_twilio_request(gateway):
    sent = gateway.call_create(to="+12125550202", from_="+12125550111",
                               url="https://switchboard.example.com/twilio/callout/bobs/1",
                               status_callback="https://switchboard.example.com/twilio/callout/bobs/1/status")
    assert sent.sid.startswith("CA")


def test_a_campaign_call_with_asynchronous_machine_detection_is_a_valid_twilio_request(gateway):
    base = "https://switchboard.example.com/twilio/outbound/bobs/7"
    sent = gateway.call_dial(to="+12125550203", from_="+12125550111", url=base, status_callback=base + "/status",
                             ring_seconds=25, amd_callback=base + "/amd")
    assert sent.sid.startswith("CA")
    data = gateway.client.http_client._test_only_last_request.data
    assert (data["MachineDetection"], data["AsyncAmd"], data["AsyncAmdStatusCallback"]) == (
        "DetectMessageEnd", "true", base + "/amd")
    sent = gateway.call_dial(to="+12125550203", from_="+12125550111", url=base, status_callback=base + "/status",
                             ring_seconds=15, account_sid=SUBACCOUNT)  # detection off; the number's own account
    assert sent.sid.startswith("CA")
    request = gateway.client.http_client._test_only_last_request
    assert request.url.endswith(f"/Accounts/{SUBACCOUNT}/Calls.json")
    assert request.data["Timeout"] == 15 and "MachineDetection" not in request.data


def test_looking_up_earlier_texts_and_calls_is_a_valid_twilio_request(gateway):
    from datetime import datetime, timezone

    since = datetime(2026, 1, 6, 23, 0, tzinfo=timezone.utc)
    # Prism answers with Twilio's example list; the call is what is checked. A text is found
    # only with the same body, so the example's body finds nothing.
    assert gateway.sent_find(channel="sms", to="+12125550201", from_="+12125550111", body="no such body",
                             since=since) is None
    # Twilio's example call was created in 2019: found when looking since 2019, not since 2026.
    assert gateway.sent_find(channel="call", to="+12125550202", from_="+12125550111", body="", since=since) is None
    found = gateway.sent_find(channel="call", to="+12125550202", from_="+12125550111", body="",
                              since=datetime(2019, 1, 1, tzinfo=timezone.utc))
    assert found.startswith("CA")


def test_a_request_twilio_would_refuse_raises_a_gateway_error(gateway):
    with pytest.raises(GatewayError) as refused:
        gateway.call_redirect(CALL, "not a url")  # Twilio requires an absolute URL
    assert refused.value.status == 422


def test_without_credentials_the_gateway_refuses_clearly():
    with pytest.raises(NotConfigured, match="TWILIO_ACCOUNT_SID"):
        LiveGateway("", "")


def test_the_simulated_gateway_hands_commands_to_the_simulator(settings):
    import json

    gateway = SimulatedGateway()
    gateway.call_redirect("CAsim1", "https://x/connect")
    item = gateway.redis.lpop("sim:call:CAsim1")
    assert json.loads(item) == {"verb": "redirect", "url": "https://x/connect"}


# --- A subaccount client's call: every command on the subaccount's own /Accounts/{SID}/ --------
# Twilio answers 404 for a subaccount's call under the platform's account: the paths are
# what these check (the platform's credentials act on its subaccounts), and Prism that each
# request is one Twilio takes.

SUBACCOUNT = "AC" + "5" * 32
CONFERENCE = "CF" + "6" * 32


def _path(gateway) -> str:
    from urllib.parse import urlsplit

    return urlsplit(gateway.client.http_client._test_only_last_request.url).path


def test_a_subaccount_clients_call_is_redirected_and_ended_on_its_own_account(gateway):
    gateway.call_redirect(CALL, "https://switchboard.example.com/twilio/voice/connect/" + CALL, account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Calls/{CALL}.json"
    gateway.call_end(CALL, account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Calls/{CALL}.json"


def test_the_platform_accounts_calls_stay_on_the_platform_account(gateway):
    gateway.call_redirect(CALL, "https://switchboard.example.com/twilio/voice/connect/" + CALL)
    assert _path(gateway) == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"


def test_a_subaccount_clients_conference_is_worked_on_its_own_account(gateway):
    leg = gateway.participant_add(conference="call-" + CALL, to="client:agent-7", from_="+12125550111", label="agent",
                                  status_callback=f"https://switchboard.example.com/twilio/voice/leg/{CALL}?leg=agent",
                                  account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Conferences/call-{CALL}/Participants.json"
    assert leg.sid.startswith("CA")
    gateway.participant_hold(conference_sid=CONFERENCE, call_sid=CALL, hold=True,
                             hold_url=f"https://switchboard.example.com/twilio/voice/hold-music/{CALL}",
                             account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Conferences/{CONFERENCE}/Participants/{CALL}.json"
    gateway.participant_hold(conference_sid=CONFERENCE, call_sid=CALL, hold=False, account_sid=SUBACCOUNT)
    gateway.participant_remove(conference_sid=CONFERENCE, call_sid=CALL, account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Conferences/{CONFERENCE}/Participants/{CALL}.json"
    assert gateway.client.http_client._test_only_last_request.method == "DELETE"


def test_a_subaccount_clients_texts_and_call_outs_go_from_its_own_account(gateway):
    """Twilio refuses a From number that is not on the account the request is made under."""
    from datetime import datetime, timezone

    gateway.sms_send(to="+12125550201", from_="+12125550111", body="[Bob's Plumbing] URGENT message",
                     status_callback="https://switchboard.example.com/twilio/messaging/status?client=bobs",
                     account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Messages.json"
    gateway.call_create(to="+12125550202", from_="+12125550111", url="https://switchboard.example.com/twilio/callout/bobs/1",
                        status_callback="https://switchboard.example.com/twilio/callout/bobs/1/status",
                        account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Calls.json"
    since = datetime(2026, 1, 6, 23, 0, tzinfo=timezone.utc)
    gateway.sent_find(channel="call", to="+12125550202", from_="+12125550111", body="", since=since,
                      account_sid=SUBACCOUNT)
    assert _path(gateway) == f"/2010-04-01/Accounts/{SUBACCOUNT}/Calls.json"
    gateway.sms_send(to="+12125550201", from_="+12125550111", body="x", status_callback="https://x.example/s")
    assert _path(gateway) == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
