"""Version 1 of the API, at /api/v1/ on each client's host. One block per group; later groups add theirs."""

from django.urls import path

from api.views import appointments, calls, campaigns, compliance, contacts, messages, oncall, webhooks

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
    path("consents/remove", compliance.ConsentRemove.as_view(), name="consent_remove"),
    path("compliance/check", compliance.NumberCheck.as_view(), name="compliance_check"),
    path("oncall/teams", oncall.TeamList.as_view(), name="oncall_teams"),
    path("oncall/teams/<int:pk>", oncall.TeamDetail.as_view(), name="oncall_team"),
    path("oncall/teams/<int:pk>/overrides", oncall.OverrideAdd.as_view(), name="oncall_override_add"),
    path("oncall/people", oncall.PersonList.as_view(), name="oncall_people"),
    path("oncall/overrides", oncall.OverrideList.as_view(), name="oncall_overrides"),
    path("oncall/overrides/<int:pk>", oncall.OverrideDelete.as_view(), name="oncall_override"),
    # Appointments: calendars, types, slots, book, list, one, reschedule, cancel (api/views/appointments.py).
    path("calendars", appointments.CalendarList.as_view(), name="calendars"),
    path("appointment-types", appointments.TypeList.as_view(), name="appointment_types"),
    path("appointments/slots", appointments.SlotSearch.as_view(), name="appointment_slots"),
    path("appointments", appointments.Appointments.as_view(), name="appointments"),  # GET: list; POST: book
    path("appointments/<int:pk>", appointments.AppointmentDetail.as_view(), name="appointment"),
    path("appointments/<int:pk>/reschedule", appointments.AppointmentReschedule.as_view(),
         name="appointment_reschedule"),
    path("appointments/<int:pk>/cancel", appointments.AppointmentCancel.as_view(), name="appointment_cancel"),
    # Contacts and lists, imports, campaigns (api/views/contacts.py, api/views/campaigns.py).
    path("contact-lists", contacts.ContactLists.as_view(), name="contact_lists"),
    path("contact-lists/<int:pk>", contacts.ContactListDetail.as_view(), name="contact_list"),
    path("contact-lists/<int:pk>/imports", contacts.ImportCreate.as_view(), name="contact_import_create"),
    path("imports/<int:pk>", contacts.ImportDetail.as_view(), name="contact_import"),
    path("contacts", contacts.Contacts.as_view(), name="contacts"),
    path("contacts/<int:pk>", contacts.ContactDetail.as_view(), name="contact"),
    path("campaigns", campaigns.Campaigns.as_view(), name="campaigns"),
    path("campaigns/<int:pk>", campaigns.CampaignDetail.as_view(), name="campaign"),
    path("campaigns/<int:pk>/start", campaigns.CampaignStart.as_view(), name="campaign_start"),
    path("campaigns/<int:pk>/pause", campaigns.CampaignPause.as_view(), name="campaign_pause"),
    path("campaigns/<int:pk>/results", campaigns.CampaignResults.as_view(), name="campaign_results"),
    path("webhook-endpoints", webhooks.EndpointList.as_view(), name="webhook_endpoints"),
    path("webhook-endpoints/<int:pk>", webhooks.EndpointDetail.as_view(), name="webhook_endpoint"),
    path("webhook-endpoints/<int:pk>/rotate-secret", webhooks.EndpointRotateSecret.as_view(),
         name="webhook_endpoint_rotate_secret"),
    path("webhook-endpoints/<int:pk>/enable", webhooks.EndpointEnable.as_view(), name="webhook_endpoint_enable"),
    path("webhook-endpoints/<int:pk>/disable", webhooks.EndpointDisable.as_view(), name="webhook_endpoint_disable"),
    path("webhook-endpoints/<int:pk>/deliveries", webhooks.EndpointDeliveries.as_view(),
         name="webhook_endpoint_deliveries"),
    path("webhook-deliveries/<int:pk>", webhooks.DeliveryDetail.as_view(), name="webhook_delivery"),
    path("webhook-deliveries/<int:pk>/resend", webhooks.DeliveryResend.as_view(), name="webhook_delivery_resend"),
]
