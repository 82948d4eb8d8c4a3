from .clients import Client, Domain, PhoneNumber
from .users import AgentProfile, Role, User

__all__ = ["AgentProfile", "Client", "Domain", "PhoneNumber", "Role", "User"]
