from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """The compliance gate and each client's own compliance data (tenant schema): internal
    DNC list, consent records, settings and the append-only audit ledger. Platform-wide data
    lives in the ``compliance.platform`` sub-app (public schema)."""

    name = "compliance"
    verbose_name = "Compliance"
