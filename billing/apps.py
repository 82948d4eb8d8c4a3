from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Usage billing, the client's side (tenant schema): statements and their items, each item
    traced to the call record, message, text or attempt it bills. The plans live in the
    ``billing.platform`` sub-app (public schema), set by platform admins."""

    name = "billing"
    verbose_name = "Billing"
