"""Calendar pages that are not the portal's: the iCalendar feed a client's calendar app
subscribes to. Thin: the service renders, the view speaks HTTP."""

from __future__ import annotations

import hashlib

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_safe

from calendars.models import Calendar
from calendars.services import feeds


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A calendar's appointments as iCalendar. No login: the token in the URL is the secret
    (renewing it revokes the old URL at once). Looked up in the host's schema, so one client's
    token is not found on another client's host: 404, like any wrong or renewed token."""
    calendar = Calendar.objects.filter(feed_token=token).first()
    if calendar is None:
        raise Http404("No such calendar feed.")
    body, changed = feeds.feed_render(calendar)
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    last_modified = int(changed.timestamp()) if changed else None
    # Calendar apps poll every few minutes: an unchanged feed is a 304 with no body.
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    # Private: the feed names the client's customers; no shared cache may keep it.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
