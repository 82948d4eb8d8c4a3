"""URLs of the platform host: staff, agents, the platform admin, Twilio's webhooks."""

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from answering import views as answering_views
from answering.twilio import webhooks as twilio_hooks
from reports import views as report_views
from switchboard.admin_sites import view_on_site
from switchboard.health import healthz, ping
from tenants import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tenants.urls")),
    # Ahead of the admin's own: "view on site" for a client's object would query the
    # client's table in the public schema; the guarded view answers 404 instead.
    path("admin/r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(view_on_site)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("ping", csrf_exempt(ping), name="ping"),
    path("twilio/", include("answering.urls")),
    # The connected call's conference (answering/twilio/webhooks.py, acd/services/controls.py).
    path("twilio/voice/conference/<str:call_sid>", twilio_hooks.voice_conference, name="twilio_voice_conference"),
    path("twilio/voice/leg/<str:call_sid>", twilio_hooks.voice_leg, name="twilio_voice_leg"),
    path("twilio/voice/hold-music/<str:call_sid>", twilio_hooks.voice_hold_music, name="twilio_voice_hold_music"),
    path("twilio/voice/requeue/<str:call_sid>", twilio_hooks.voice_requeue, name="twilio_voice_requeue"),
    path("agent/voice-token", answering_views.agent_voice_token, name="agent_voice_token"),
    path("console/", answering_views.console, name="console"),
    path("wallboard/", answering_views.wallboard, name="wallboard"),
    path("reports/", report_views.platform_reports, name="reports"),
    path("reports/export.<str:fmt>", report_views.platform_reports_export, name="reports_export"),
]
