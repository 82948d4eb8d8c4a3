"""URLs of a client's own host (<slug>.<PLATFORM_DOMAIN>): the portal and the client-data admin."""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from portal import views as portal_views
from switchboard.admin_sites import client_data_admin
from switchboard.health import healthz, ping

urlpatterns = [
    path("", portal_views.inbox, name="home"),  # a client's home is its messages
    path("", include("portal.urls")),
    path("accounts/", include("tenants.urls")),
    path("admin/", client_data_admin.urls),
    path("api/", include("api.urls")),  # the REST API for the client's own systems (#18)
    path("calendars/", include("calendars.urls")),
    path("compliance/", include("compliance.urls")),
    path("healthz", healthz, name="healthz"),
    path("ping", csrf_exempt(ping), name="ping"),
]
