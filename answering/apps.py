from django.apps import AppConfig


class AnsweringConfig(AppConfig):
    name = "answering"
    verbose_name = "Answering"

    def ready(self) -> None:
        from answering.flow import signals  # noqa: F401  (connects the flow cache's invalidation; models must be loaded first)
