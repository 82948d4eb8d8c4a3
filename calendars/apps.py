from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendars and appointments (tenant schema): resources with local working hours, their
    exceptions, appointment types, and appointments with no double booking — an exclusion
    constraint over each calendar's booked and held time, buffers included."""

    name = "calendars"
    verbose_name = "Calendars"
