from .consent import Consent
from .dnc import DncEntry
from .imports import DncImport
from .ledger import LedgerEntry
from .settings import ComplianceSettings, RecordingPolicy

__all__ = ["ComplianceSettings", "Consent", "DncEntry", "DncImport", "LedgerEntry", "RecordingPolicy"]
