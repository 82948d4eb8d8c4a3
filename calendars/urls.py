"""Calendar URLs on a client's own host (mounted at /calendars/ in urls_client)."""

from django.urls import re_path

from calendars import views

app_name = "calendars"
urlpatterns = [
    # The token is secrets.token_urlsafe: letters, digits, - and _.
    re_path(r"^feed/(?P<token>[A-Za-z0-9_-]{16,64})\.ics$", views.calendar_feed, name="feed"),
]
