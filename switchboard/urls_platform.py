"""URLs of the platform host: staff, agents, the platform admin, Twilio's webhooks."""

from django.contrib import admin
from django.urls import include, path

from switchboard.health import healthz
from tenants import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tenants.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("twilio/", include("answering.urls")),
]
