"""The API on a client's host (/api/): v1, its OpenAPI description, its documentation page.
Anything else under /api/ is a 404 problem, not the portal's HTML page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from api.docs import DocsView
from api.errors import not_found

app_name = "api"
urlpatterns = [
    path("v1/", include("api.urls_v1")),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", not_found),
]
