from django.apps import AppConfig


class AcdConfig(AppConfig):
    """The ACD's live tables (public schema): every call in flight and every agent's presence."""

    name = "answering.acd"
    label = "acd"
    verbose_name = "Live calls and agents"
