"""Templates from the apps, less django-tenants' admin index and app list.

django-tenants ships its own ``admin/index.html`` and ``admin/app_list.html`` to colour
which apps live in which schema. Both write an inline ``<style>`` and ``style=``
attributes, which the Content-Security-Policy (switchboard/csp.py) refuses, so the admin's
home would lose its layout. This project has no use for the colouring — the platform and
each client's data have admin sites of their own (switchboard/admin_sites.py) — so those
two templates are skipped and Django's own are found instead.
"""

from __future__ import annotations

from django.template.loaders import app_directories

SKIPPED = frozenset({"admin/index.html", "admin/app_list.html"})


class Loader(app_directories.Loader):
    def get_template_sources(self, template_name):
        for origin in super().get_template_sources(template_name):
            if template_name in SKIPPED and "/django_tenants/" in origin.name:
                continue
            yield origin
