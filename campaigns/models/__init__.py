from .campaigns import DEFAULT_DISPOSITIONS, CallAttempt, Campaign, Disposition
from .contacts import Contact, ContactImport, ContactList

__all__ = ["DEFAULT_DISPOSITIONS", "CallAttempt", "Campaign", "Contact", "ContactImport", "ContactList", "Disposition"]
