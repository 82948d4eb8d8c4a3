from .campaigns import CallAttempt, Campaign

__all__ = ["CallAttempt", "Campaign"]
