from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Outbound (tenant schema): campaigns, contact lists, the dialer, dispositions, follow-ups.
    The compliance gate counts caps and abandonment from the call attempts kept here."""

    name = "campaigns"
    verbose_name = "Campaigns"
