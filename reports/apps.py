from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports over each client's records (no models: the figures read the other apps' tables)."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
