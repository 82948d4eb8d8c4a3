"""Twilio's URLs, on the platform host. The first five are the contract (ARCHITECTURE §5)."""

from django.urls import path

from answering import views
from calendars import views_twilio as calendar_twilio
from campaigns import views as campaign_views

urlpatterns = [
    path("voice/incoming", views.voice_incoming, name="twilio_voice_incoming"),
    path("voice/status", views.voice_status, name="twilio_voice_status"),
    path("voice/fallback", views.voice_fallback, name="twilio_voice_fallback"),
    path("messaging/incoming", views.messaging_incoming, name="twilio_messaging_incoming"),
    path("messaging/status", views.messaging_status, name="twilio_messaging_status"),
    path("voice/language/<str:call_sid>", views.voice_language, name="twilio_voice_language"),
    path("voice/menu/<str:call_sid>", views.voice_menu, name="twilio_voice_menu"),
    path("voice/wait/<str:call_sid>", views.voice_wait, name="twilio_voice_wait"),
    path("voice/queue-exit/<str:call_sid>", views.voice_queue_exit, name="twilio_voice_queue_exit"),
    path("voice/connect/<str:call_sid>", views.voice_connect, name="twilio_voice_connect"),
    path("voice/dial-status/<str:call_sid>", views.voice_dial_status, name="twilio_voice_dial_status"),
    path("voice/voicemail/<str:call_sid>", views.voice_voicemail, name="twilio_voice_voicemail"),
    path("voice/recording/<str:call_sid>", views.voice_recording, name="twilio_voice_recording"),
    path("callout/<str:schema>/<int:delivery_id>", views.callout, name="twilio_callout"),
    path("callout/<str:schema>/<int:delivery_id>/gather", views.callout_gather, name="twilio_callout_gather"),
    path("callout/<str:schema>/<int:delivery_id>/status", views.callout_status, name="twilio_callout_status"),
    # Campaign calls and texts (campaigns/views.py): the attempt's own URLs.
    path("outbound/<str:schema>/<int:attempt_id>", campaign_views.outbound_answer, name="twilio_outbound_answer"),
    path("outbound/<str:schema>/<int:attempt_id>/status", campaign_views.outbound_status, name="twilio_outbound_status"),
    path("outbound/<str:schema>/<int:attempt_id>/amd", campaign_views.outbound_amd, name="twilio_outbound_amd"),
    path("outbound/<str:schema>/<int:attempt_id>/undetected", campaign_views.outbound_undetected,
         name="twilio_outbound_undetected"),
    path("outbound/<str:schema>/<int:attempt_id>/drop", campaign_views.outbound_drop, name="twilio_outbound_drop"),
    path("outbound/<str:schema>/<int:attempt_id>/harbour", campaign_views.outbound_harbour,
         name="twilio_outbound_harbour"),
    # Appointments' confirmations and reminders (calendars/views_twilio.py): the notice's own URLs.
    path("notice/<str:schema>/<int:notice_id>", calendar_twilio.notice_call, name="twilio_notice_call"),
    path("notice/<str:schema>/<int:notice_id>/status", calendar_twilio.notice_status, name="twilio_notice_status"),
]
