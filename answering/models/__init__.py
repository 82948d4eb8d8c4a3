from .calls import CallRecord, InboundSMS, VoicemailMessage
from .delivery import Channel, Delivery, DeliveryEvent, DeliveryRule, EscalationPolicy, EscalationStep
from .flow import BusinessHours, Closure, MenuOption, Prompt
from .knowledge import KnowledgeFact
from .messages import Message
from .oncall import Override, Person, Rotation, RotationMember, Team
from .scripts import Script, ScriptBranch, ScriptField, ScriptStep, ScriptVersion
from .settings import AnsweringSettings

__all__ = [
    "Channel", "Delivery", "DeliveryEvent", "DeliveryRule", "EscalationPolicy", "EscalationStep",
    "AnsweringSettings", "BusinessHours", "CallRecord", "Closure", "InboundSMS", "KnowledgeFact",
    "MenuOption", "Message", "Override", "Person", "Prompt", "Rotation", "RotationMember", "Team", "Script", "ScriptBranch", "ScriptField", "ScriptStep", "ScriptVersion",
    "VoicemailMessage",
]
