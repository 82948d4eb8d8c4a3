"""Recordings play through the app, for users allowed to hear them, never from a public URL."""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message
from tenants.services import user_recordings_allow
from tests.conftest import BOB_HOST, CHARLIE_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db
MP3 = b"ID3" + b"\x00" * 5000


@pytest.fixture
def recorded(world):
    with schema_context("bobsplumbing"):
        call = CallRecord.objects.create(
            call_sid="CA-rec-1", caller="+12125550147", number_dialed="+12125550111", arrived_at=timezone.now(),
            outcome=CallRecord.Outcome.ANSWERED, wait_seconds=12, talk_seconds=95, recording_sid="RE123",
            recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE123", recording_duration=95)
        voicemail = take(world.bobs, deliver=False, source=Message.Source.VOICEMAIL, recording_sid="RE456",
                         category="voicemail", fields={"voicemail": "20 s recording"})
    return call, voicemail


def _audio(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_client_admin_hears_recordings_simulated_as_silence(world, logged_in, recorded, settings):
    settings.TWILIO_MODE = "simulate"
    call, voicemail = recorded
    client = logged_in(world.bob, BOB_HOST)
    response = client.get(f"/calls/{call.pk}/recording")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "audio/wav" and "silence" in response["X-Switchboard-Simulated"]
    assert response["Cache-Control"] == "private, no-store"
    assert _audio(response)[:4] == b"RIFF"
    assert client.get(f"/messages/{voicemail.pk}/recording").status_code == HTTPStatus.OK
    page = client.get("/calls/").content.decode()
    assert f'src="/calls/{call.pk}/recording"' in page and "simulated" in page
    assert "api.twilio.com" not in page  # never the provider's URL


def test_a_client_user_needs_the_admins_permission(world, logged_in, recorded):
    call, voicemail = recorded
    bea = logged_in(world.bea, BOB_HOST)
    assert bea.get(f"/calls/{call.pk}/recording").status_code == HTTPStatus.FORBIDDEN
    assert bea.get(f"/messages/{voicemail.pk}/recording").status_code == HTTPStatus.FORBIDDEN
    assert "not allowed" in bea.get("/calls/").content.decode()

    user_recordings_allow(user=world.bea, allowed=True, by=world.bob)
    world.bea.refresh_from_db()
    try:
        assert logged_in(world.bea, BOB_HOST).get(f"/calls/{call.pk}/recording").status_code == HTTPStatus.OK
    finally:
        world.bea.recordings_allowed = False


def test_another_clients_user_gets_404(world, logged_in, recorded):
    call, voicemail = recorded
    with schema_context("charlieclinic"):
        assert (CallRecord.objects.aggregate(m=Max("pk"))["m"] or 0) < call.pk
        assert (Message.objects.aggregate(m=Max("pk"))["m"] or 0) < voicemail.pk
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert charlie.get(f"/calls/{call.pk}/recording").status_code == HTTPStatus.NOT_FOUND
    assert charlie.get(f"/messages/{voicemail.pk}/recording").status_code == HTTPStatus.NOT_FOUND
    assert logged_in(world.charlie, BOB_HOST).get(f"/calls/{call.pk}/recording").status_code == HTTPStatus.FOUND


class _FakeTwilio(BaseHTTPRequestHandler):
    """Twilio's media URL: the recording as MP3, only with the account's credentials."""

    seen: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        import base64

        expected = "Basic " + base64.b64encode(b"ACtest:secret").decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        if not self.path.endswith("/Recordings/RE123.mp3"):
            self.send_response(404)
            self.end_headers()
            return
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):  # as Twilio's media host does: a part, 206
            first, _, last = wanted[len("bytes="):].partition("-")
            part = MP3[int(first):int(last) + 1 if last else None]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{int(first) + len(part) - 1}/{len(MP3)}")
        else:
            part = MP3
            self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        self.wfile.write(part)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio(settings):
    server = HTTPServer(("127.0.0.1", 0), _FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TWILIO_MODE = "live"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "ACtest", "secret"
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    _FakeTwilio.seen = []
    yield _FakeTwilio
    server.shutdown()


def test_live_mode_streams_twilios_mp3_with_the_credentials(world, logged_in, recorded, fake_twilio):
    call, voicemail = recorded
    client = logged_in(world.bob, BOB_HOST)
    response = client.get(f"/calls/{call.pk}/recording")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "audio/mpeg" and _audio(response) == MP3
    assert "X-Switchboard-Simulated" not in response
    assert fake_twilio.seen[0][0] == "/2010-04-01/Accounts/AC1/Recordings/RE123.mp3"
    # A recording Twilio does not have: a clear 502, not a crash.
    missing = client.get(f"/messages/{voicemail.pk}/recording")
    assert missing.status_code == HTTPStatus.BAD_GATEWAY
    assert fake_twilio.seen[1][0] == "/2010-04-01/Accounts/ACtest/Recordings/RE456.mp3"


def test_our_twilio_credentials_never_go_to_a_stored_url_off_twilios_host(world, logged_in, recorded, fake_twilio):
    call, _ = recorded
    with schema_context("bobsplumbing"):
        CallRecord.objects.filter(pk=call.pk).update(recording_url="https://evil.example/steal/Recordings/RE123")
    response = logged_in(world.bob, BOB_HOST).get(f"/calls/{call.pk}/recording")
    # Fetched by its SID from Twilio's API (here the local stand-in), never from the stored host.
    assert response.status_code == HTTPStatus.OK and _audio(response) == MP3
    assert all(not path.startswith("/steal") for path, _ in fake_twilio.seen)



def test_a_player_seeks_in_a_recording_with_a_range_request(world, logged_in, recorded, fake_twilio):
    call, _ = recorded
    response = logged_in(world.bob, BOB_HOST).get(f"/calls/{call.pk}/recording", HTTP_RANGE="bytes=4-9")
    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert _audio(response) == MP3[4:10] and response["Content-Range"] == f"bytes 4-9/{len(MP3)}"
    assert response["Accept-Ranges"] == "bytes"
