from django.apps import AppConfig


class ApiDataConfig(AppConfig):
    name = "api.data"
    label = "api_data"
    verbose_name = "API data"
