from .calls import CallRecord, InboundSMS, VoicemailMessage
from .flow import BusinessHours, Closure, MenuOption, Prompt
from .knowledge import KnowledgeFact
from .messages import Message
from .scripts import Script, ScriptBranch, ScriptField, ScriptStep, ScriptVersion
from .settings import AnsweringSettings

__all__ = [
    "AnsweringSettings", "BusinessHours", "CallRecord", "Closure", "InboundSMS", "KnowledgeFact",
    "MenuOption", "Message", "Prompt", "Script", "ScriptBranch", "ScriptField", "ScriptStep", "ScriptVersion",
    "VoicemailMessage",
]
