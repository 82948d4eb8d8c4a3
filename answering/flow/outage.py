"""Voicemails taken while the database was down, kept until it is back.

The fallback's voicemail (``/twilio/voice/fallback``, which Twilio calls when our answer
fails, and which the first webhook answers itself while the database is down) is recorded
by Twilio; when the caller has finished, Twilio posts the recording's URL to the fallback.
That request writes one file here (``VOICEMAIL_SPOOL_DIR``: no database, no Redis), and the
first web process of this host that finds the database working again (its next call's first
webhook) stores each such voicemail as the call, its record and a message for the client,
delivered like any voicemail — once per call, however often the file is read.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction

from answering.acd import selectors as acd_selectors
from answering.acd import services as acd
from answering.flow import ivr
from tenants import selectors as tenant_selectors
from tenants.phone import to_e164

logger = logging.getLogger("switchboard.twilio")
SPOOL_CHECK_SECONDS = 5.0  # how often a process looks for spooled voicemails (one scandir)
FIELDS = ("CallSid", "AccountSid", "From", "To", "RecordingSid", "RecordingUrl", "RecordingDuration")

_looked_at = 0.0
_storing = threading.Lock()


def voicemail_spool(params) -> Path | None:
    """Keep a voicemail the fallback took (Twilio's parameters): one file per call, written
    whole (a temporary name, then renamed). None when it names no call to keep."""
    call_sid = params.get("CallSid", "")
    if not (call_sid and params.get("RecordingUrl")) or not call_sid.isalnum():
        return None
    spool = Path(settings.VOICEMAIL_SPOOL_DIR)
    path = spool / f"{call_sid}.json"
    temporary = spool / f".{call_sid}.{os.getpid()}.tmp"
    try:
        spool.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({**{name: params.get(name, "") for name in FIELDS}, "spooled_at": time.time()}))
        os.replace(temporary, path)
    except OSError:
        # The caller still hears "recorded": Twilio keeps the recording, and the log line names it.
        logger.exception("voicemail of %s NOT spooled (recording %s)", call_sid, params.get("RecordingUrl"))
        return None
    return path


def spooled_voicemails_store_soon() -> None:
    """After a request that reached the database: at most every SPOOL_CHECK_SECONDS, look for
    spooled voicemails and, if there are any, store them in a thread of their own (the
    caller's answer does not wait)."""
    global _looked_at
    now = time.monotonic()
    if now - _looked_at < SPOOL_CHECK_SECONDS or not settings.VOICEMAIL_SPOOL_STORE:
        return
    _looked_at = now
    if not _spooled() or not _storing.acquire(blocking=False):
        return

    def run():
        try:
            spooled_voicemails_store()
        except Exception:  # logged; the files stay for the next look
            logger.exception("spooled voicemails not stored yet")
        finally:
            connections.close_all()
            _storing.release()

    threading.Thread(target=run, name="voicemail-spool", daemon=True).start()


def _spooled() -> list[Path]:
    try:
        return sorted(Path(settings.VOICEMAIL_SPOOL_DIR).glob("CA*.json"))
    except OSError:
        return []


def spooled_voicemails_store() -> int:
    """Store every spooled voicemail (see the module); returns how many were stored. A file
    is claimed by renaming it (another process may be storing too) and deleted once its
    voicemail is committed; one that cannot be stored goes back, for the next try."""
    stored = 0
    for path in _spooled():
        claimed = path.with_name(f".{path.stem}.{os.getpid()}.claimed")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue  # another process took it
        try:
            params = json.loads(claimed.read_text())
            if _store(params):
                stored += 1
            claimed.unlink()
        except Exception:
            os.replace(claimed, path)
            raise
    return stored


def _store(params: dict) -> bool:
    call_sid = params["CallSid"]
    try:
        number = to_e164(params.get("To", ""))
    except ValidationError:  # a number we cannot read names no client
        number = None
    client = tenant_selectors.client_for_number(number) if number else None
    if client is None:
        logger.warning("spooled voicemail of %s to %s: no client has that number; dropped (recording %s)",
                       call_sid, params.get("To"), params.get("RecordingUrl"))
        return False
    duration = int(params["RecordingDuration"]) if str(params.get("RecordingDuration", "")).isdigit() else None
    with transaction.atomic():
        session = acd_selectors.call_by_sid(call_sid) or acd.call_recover(
            call_sid=call_sid, client=client, from_number=params.get("From", ""), to_number=number,
            account_sid=params.get("AccountSid", ""))
        try:
            session = acd.call_to_voicemail(session=session)
        except acd.TransitionRefused:
            pass  # the call went further before the database failed (or has ended): its message is still taken
        ivr.voicemail_left(session, recording_sid=params.get("RecordingSid", ""),
                           recording_url=params.get("RecordingUrl", ""), duration=duration)
        ivr.recording_ready(session, recording_sid=params.get("RecordingSid", ""),
                            recording_url=params.get("RecordingUrl", ""), duration=duration)
        acd.call_status_update(session=session, status="completed", sequence=None)
    logger.warning("voicemail of %s from %s, taken by the fallback while the database was down, stored for %s",
                   call_sid, params.get("From"), client.schema_name)
    return True
