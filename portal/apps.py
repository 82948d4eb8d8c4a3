from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The client portal: pages on a client's own host. No models: it reads and changes
    `answering` and `tenants` data through their services and selectors."""

    name = "portal"
    verbose_name = "Client portal"
