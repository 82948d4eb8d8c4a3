"""The verbs of compliance: the gate, opt-outs and consent, recording, the registry.

Tenant functions run inside one client's schema; the registry loader in the public one.
"""

from compliance.rules import AbandonmentRate

from .dnc_import import (
    DncImportResult,
    RowError,
    dnc_csv_import,
    dnc_import_run,
    dnc_import_start,
)
from .gate import (
    Decision,
    Reason,
    ScrubResult,
    ScrubRow,
    contact_decide,
    contacts_decide,
    contacts_scrub,
)
from .optout import (
    consent_record,
    consent_revoke,
    consents_revoke,
    dnc_entry_remove,
    inbound_sms_handle,
    opt_out_record,
    sms_keyword_match,
    twilio_send_error_record,
)
from .recording import RecordingDecision, recording_decide
from .registry import LoadReport, registry_load

__all__ = [
    "AbandonmentRate", "Decision", "DncImportResult", "LoadReport", "Reason", "RecordingDecision", "RowError",
    "ScrubResult", "ScrubRow", "consent_record", "consent_revoke", "consents_revoke", "contact_decide", "contacts_decide", "contacts_scrub", "dnc_csv_import",
    "dnc_entry_remove", "dnc_import_run", "dnc_import_start", "inbound_sms_handle", "opt_out_record", "recording_decide", "registry_load", "sms_keyword_match",
    "twilio_send_error_record",
]
