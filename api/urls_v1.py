"""Version 1 of the API, at /api/v1/ on each client's host. One block per group; later groups add theirs."""

from django.urls import path

from api.views import calls, compliance, messages, oncall

urlpatterns = [
    path("messages", messages.MessageList.as_view(), name="messages"),
    path("messages/<int:pk>", messages.MessageDetail.as_view(), name="message"),
    path("messages/<int:pk>/acknowledge", messages.MessageAcknowledge.as_view(), name="message_acknowledge"),
    path("calls", calls.CallList.as_view(), name="calls"),
    path("calls/<int:pk>", calls.CallDetail.as_view(), name="call"),
    path("calls/<int:pk>/recording", calls.CallRecording.as_view(), name="call_recording"),
    path("dnc", compliance.DncList.as_view(), name="dnc"),
    path("dnc/add", compliance.DncAdd.as_view(), name="dnc_add"),
    path("dnc/remove", compliance.DncRemove.as_view(), name="dnc_remove"),
    path("consents", compliance.ConsentList.as_view(), name="consents"),
    path("consents/add", compliance.ConsentAdd.as_view(), name="consent_add"),
    path("compliance/check", compliance.NumberCheck.as_view(), name="compliance_check"),
    path("oncall/teams", oncall.TeamList.as_view(), name="oncall_teams"),
    path("oncall/teams/<int:pk>", oncall.TeamDetail.as_view(), name="oncall_team"),
    path("oncall/teams/<int:pk>/overrides", oncall.OverrideAdd.as_view(), name="oncall_override_add"),
    path("oncall/people", oncall.PersonList.as_view(), name="oncall_people"),
    path("oncall/overrides", oncall.OverrideList.as_view(), name="oncall_overrides"),
    path("oncall/overrides/<int:pk>", oncall.OverrideDelete.as_view(), name="oncall_override"),
]
