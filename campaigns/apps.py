from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Outbound: campaigns and their call attempts (tenant schema). The outbound issue adds
    lists, the dialer and dispositions; the compliance gate counts caps and abandonment from
    the attempts already here."""

    name = "campaigns"
    verbose_name = "Campaigns"
