from .consent import Consent
from .dnc import DncEntry
from .ledger import LedgerEntry
from .settings import ComplianceSettings, RecordingPolicy

__all__ = ["ComplianceSettings", "Consent", "DncEntry", "LedgerEntry", "RecordingPolicy"]
