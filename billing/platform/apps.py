from django.apps import AppConfig


class BillingPlatformConfig(AppConfig):
    """Billing data the answering service keeps across clients (public schema): the plans, which
    client is on which, and the platform admin's billing runs with their progress."""

    name = "billing.platform"
    label = "billing_platform"
    verbose_name = "Billing (platform-wide)"
