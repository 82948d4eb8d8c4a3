from .calls import CallRecord, InboundSMS, VoicemailMessage
from .flow import BusinessHours, Closure, MenuOption, Prompt
from .knowledge import KnowledgeFact
from .settings import AnsweringSettings

__all__ = [
    "AnsweringSettings", "BusinessHours", "CallRecord", "Closure", "InboundSMS", "KnowledgeFact",
    "MenuOption", "Prompt", "VoicemailMessage",
]
