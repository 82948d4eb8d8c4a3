from django.apps import AppConfig


class CompliancePlatformConfig(AppConfig):
    """Compliance data that spans every client (public schema): the National DNC Registry and
    its file loads, the platform DNC list, and the rule tables (state hours and caps, holidays,
    all-party-consent states, area codes, SMS keywords). Tenant code reads them freely:
    ``public`` is on every client's search_path."""

    name = "compliance.platform"
    label = "compliance_platform"
    verbose_name = "Compliance (platform-wide)"
