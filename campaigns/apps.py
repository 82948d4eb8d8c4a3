from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Outbound: campaigns, lists, the dialer (tenant schema). Models arrive with the outbound issue."""

    name = "campaigns"
