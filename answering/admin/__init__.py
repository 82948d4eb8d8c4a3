"""Client-data admin for answering (runs in one client's schema; see switchboard/admin_sites.py).

Django's admin discovers this package; each module registers its models on
``client_data_admin`` when imported here."""

from answering.admin import calls, messages, scripts  # noqa: F401
