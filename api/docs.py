"""The API's documentation page: Swagger UI from the drf-spectacular-sidecar package, served from
our own /static/, its start-up script a separate same-origin request (``?script``): the page runs
under the site's strict Content-Security-Policy (no inline script or style, nothing from another host)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes: list = []
    permission_classes: list = []
    template_name = "api/docs.html"
    title = "Switchboard API"
