"""Client-data admin for calendars (one client's schema; see switchboard/admin_sites.py): a
platform admin, or the client's own admin, sets up calendars with their working hours and
exceptions, appointment types and reminder rules. Appointments are booked, moved and
cancelled through the booking services (the console, the portal, the API), never edited
here: the admin shows them with their history and notices."""

from django.contrib import admin

from answering.admin.zone import ClientTimeZoneAdmin, when_column
from calendars.models import (
    Appointment,
    AppointmentEvent,
    AppointmentNotice,
    AppointmentType,
    BusyTime,
    Calendar,
    CalendarException,
    ReminderRule,
    WorkingHours,
)
from switchboard.admin_sites import ClientDataInline, ClientDataModelAdmin, ReadOnlyAdminMixin, client_data_admin


class WorkingHoursInline(ClientDataInline, admin.TabularInline):
    model = WorkingHours
    fields = ("weekday", "start", "end")
    extra = 0


class CalendarExceptionInline(ClientDataInline, admin.TabularInline):
    model = CalendarException
    fields = ("date", "start", "end", "available", "reason")
    extra = 0


@admin.register(Calendar, site=client_data_admin)
class CalendarAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    list_display = ("name", "kind", "time_zone", "active", "busy_imported_at", "busy_error")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    readonly_fields = ("feed_token", "busy_checked_at", "busy_imported_at", "busy_error", "created")
    inlines = [WorkingHoursInline, CalendarExceptionInline]
    fieldsets = (
        (None, {"fields": ("name", "kind", "time_zone", "active")}),
        ("The client's own calendar", {"fields": ("busy_ics_url", "busy_checked_at", "busy_imported_at",
                                                  "busy_error")}),
        ("Feed", {"fields": ("feed_token", "created")}),
    )


@admin.register(AppointmentType, site=client_data_admin)
class AppointmentTypeAdmin(ClientDataModelAdmin):
    list_display = ("name", "duration_minutes", "capacity", "arrival_window_minutes", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    filter_horizontal = ("calendars",)
    fieldsets = (
        (None, {"fields": ("name", "active", "calendars")}),
        ("Time", {"fields": ("duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "step_minutes",
                             "arrival_window_minutes")}),
        ("When it can be booked", {"fields": ("min_notice_minutes", "horizon_days", "capacity")}),
        ("What the script asks", {"fields": ("intake_fields",)}),
    )


@admin.register(ReminderRule, site=client_data_admin)
class ReminderRuleAdmin(ClientDataModelAdmin):
    list_display = ("__str__", "kind", "channel", "minutes_before", "active")
    list_filter = ("kind", "channel", "active")
    filter_horizontal = ("types",)


class AppointmentEventInline(ClientDataInline, ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentEvent
    fields = ("at", "kind", "by", "detail")
    readonly_fields = fields
    extra = 0


class AppointmentNoticeInline(ClientDataInline, ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentNotice
    fields = ("kind", "channel", "address", "due_at", "status", "sent_at", "error")
    readonly_fields = fields
    extra = 0


@admin.register(Appointment, site=client_data_admin)
class AppointmentAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = (when_column("Starts", "start"), "calendar", "type", "status", "name", "phone")
    list_filter = ("status", "calendar", "type")
    search_fields = ("name", "phone", "email", "call_sid")
    date_hierarchy = "start"
    inlines = [AppointmentEventInline, AppointmentNoticeInline]
    exclude = ("blocked",)


@admin.register(BusyTime, site=client_data_admin)
class BusyTimeAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    """What the last import read from the client's own calendar (replaced by the next one)."""

    list_display = (when_column("Starts", "start"), "end", "calendar", "summary")
    list_filter = ("calendar",)
