"""The client portal, on a client's own host (mounted at the root of urls_client)."""

from django.urls import path

from portal import campaigns, views

app_name = "portal"
urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/export.csv", views.message_export, name="export"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/acknowledge", views.message_ack, name="acknowledge"),
    path("messages/<int:pk>/file", views.message_file_view, name="file"),
    path("messages/<int:pk>/recording", views.message_recording, name="message_recording"),
    path("calls/", views.call_log, name="calls"),
    path("calls/<int:pk>/recording", views.call_recording, name="call_recording"),
    path("oncall/", views.oncall, name="oncall"),
    path("oncall/people/new", views.person_edit, name="person_new"),
    path("oncall/people/<int:pk>/", views.person_edit, name="person"),
    path("oncall/teams/<int:pk>/", views.rotation_edit, name="rotation"),
    path("oncall/teams/<int:pk>/overrides", views.override_add, name="override_add"),
    path("oncall/overrides/<int:pk>/delete", views.override_delete, name="override_delete"),
    path("policies/", views.policies, name="policies"),
    path("policies/new", views.policy_edit, name="policy_new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy"),
    path("policies/<int:pk>/delete", views.policy_delete, name="policy_delete"),
    path("policies/rules/", views.rules_edit, name="rules"),
    path("users/", views.users, name="users"),
    path("users/<int:pk>/remove", views.user_remove, name="user_remove"),
    path("users/<int:pk>/recordings", views.user_recordings, name="user_recordings"),
    path("users/<int:pk>/invite-again", views.user_invitation_resend, name="user_invitation_resend"),
    # Outbound campaigns (portal/campaigns.py).
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/start", campaigns.campaign_action, {"action": "start"}, name="campaign_start"),
    path("campaigns/<int:pk>/pause", campaigns.campaign_action, {"action": "pause"}, name="campaign_pause"),
    path("campaigns/<int:pk>/stop", campaigns.campaign_action, {"action": "stop"}, name="campaign_stop"),
    path("campaigns/<int:pk>/results.csv", campaigns.campaign_export, name="campaign_export"),
    path("campaigns/<int:pk>/upload", campaigns.list_upload, name="list_upload"),
    path("campaigns/lists/<int:pk>/recycle", campaigns.list_recycle, name="list_recycle"),
    path("campaigns/imports/<int:pk>/", campaigns.contact_import_detail, name="contact_import"),
    path("campaigns/imports/<int:pk>/mapping", campaigns.contact_import_mapping, name="contact_import_mapping"),
    path("campaigns/imports/<int:pk>/progress", campaigns.contact_import_progress, name="contact_import_progress"),
]
