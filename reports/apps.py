from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports over each client's records: the figures read the other apps' tables; its own hold a cache of closed days."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
