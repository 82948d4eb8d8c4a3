"""Call recordings' audio: fetched from Twilio with the platform's credentials and
streamed through the app, so a recording never has a public URL and every play passes the
portal's access check.

In ``simulate`` mode no audio exists (the simulator records nothing): we serve a short
silent WAV, marked as simulated, so the player and the access check can be tried end to end.

Beside the gateway (``recording_fetch`` there reads a recording's details): everything that
talks to Twilio lives in this package.
"""

from __future__ import annotations

import io
import logging
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

SIMULATED_SECONDS_MAX = 5
CHUNK = 64 * 1024


class RecordingUnavailable(Exception):
    """Twilio did not give us the audio (gone, refused, unreachable)."""


@dataclass
class Audio:
    content_type: str
    chunks: Iterator[bytes]
    simulated: bool = False
    length: int | None = None
    content_range: str = ""  # set when this is the part a Range request asked for (HTTP 206)


def recording_audio(*, sid: str, url: str = "", duration: int | None = None, byte_range: str = "") -> Audio:
    """The recording's audio, as a stream of chunks; ``byte_range`` (an HTTP Range header) asks
    Twilio for part of it, so a player can seek in a long recording."""
    if settings.TWILIO_MODE == "simulate":
        return _silence(duration)
    return _twilio_mp3(sid=sid, url=url, byte_range=byte_range)


def recording_media_url(*, sid: str, url: str = "") -> str:
    """Twilio's media URL of a recording (``.mp3``), on TWILIO_API_BASE_URL when set (tests, mocks)."""
    # Our Twilio credentials go with this request: only ever to Twilio's API host. A stored
    # URL pointing anywhere else is ignored in favour of the one the SID names.
    if url and urlsplit(url).hostname != "api.twilio.com":
        logger.warning("recording %s: ignoring a media URL off Twilio's API host (%s)", sid, urlsplit(url).hostname)
        url = ""
    base = url or (f"https://api.twilio.com/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Recordings/{sid}"
                   if sid else "")
    if not base:
        raise RecordingUnavailable("This call has no recording.")
    for suffix in (".json", ".mp3", ".wav"):
        base = base.removesuffix(suffix)
    if settings.TWILIO_API_BASE_URL and base.startswith("https://api.twilio.com"):
        base = settings.TWILIO_API_BASE_URL.rstrip("/") + base[len("https://api.twilio.com"):]
    return base + ".mp3"


def _twilio_mp3(*, sid: str, url: str, byte_range: str = "") -> Audio:
    media = recording_media_url(sid=sid, url=url)
    headers = {"Range": byte_range} if byte_range.startswith("bytes=") else {}
    try:
        response = requests.get(media, auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
                                headers=headers, stream=True, timeout=10)
    except requests.RequestException as exc:
        logger.warning("recording %s unreachable: %s", sid, exc)
        raise RecordingUnavailable("Twilio could not be reached for this recording.") from exc
    if response.status_code not in (200, 206):
        response.close()
        logger.warning("recording %s: Twilio answered %s", sid, response.status_code)
        raise RecordingUnavailable(f"Twilio answered {response.status_code} for this recording.")

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_content(CHUNK)
        finally:
            response.close()

    length = response.headers.get("Content-Length")
    return Audio(content_type=response.headers.get("Content-Type", "audio/mpeg"), chunks=chunks(),
                 length=int(length) if length and length.isdigit() else None,
                 content_range=response.headers.get("Content-Range", "") if response.status_code == 206 else "")


def _silence(duration: int | None) -> Audio:
    seconds = max(1, min(duration or 3, SIMULATED_SECONDS_MAX))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 8000 * seconds)
    data = buffer.getvalue()
    return Audio(content_type="audio/wav", chunks=iter([data]), simulated=True, length=len(data))
