from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """The compliance gate and its data (tenant schema). Models arrive with the compliance issue."""

    name = "compliance"
