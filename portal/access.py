"""Who may open a portal page: the host's own people; some pages only its admins.

`HostMembershipMiddleware` already makes anyone who does not belong on this host anonymous
(another client's user, platform staff), so `login_required` sends them to log in. Objects
are looked up in the host's schema only, so another client's ids are simply not found (404).
"""

from __future__ import annotations

import zoneinfo
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.utils import timezone

from tenants.models import Role


def portal_page(view):
    """A page of the client's portal: logged in, on a client's host, in the client's time zone."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        client = getattr(request, "host_client", None)
        if client is None or not request.user.may_use_host(client):
            raise Http404("The portal lives on a client's own host.")
        # Forms read and pages show times as the client's office does.
        with timezone.override(zoneinfo.ZoneInfo(client.time_zone)):
            try:
                return view(request, *args, **kwargs)
            except NotAllowed as refused:
                # Refused, not failed: a page in the portal's layout that says so, and no
                # stack trace in the log (PermissionDenied logs one per refusal).
                return render(request, "portal/refused.html", {"reason": str(refused)}, status=403)

    return wrapper


class NotAllowed(Exception):
    """This user may read this page but not change it (or create from it)."""


def is_client_admin(request: HttpRequest) -> bool:
    return request.user.role == Role.CLIENT_ADMIN and request.user.may_edit_client_data(request.host_client)


def admin_only(request: HttpRequest) -> None:
    """Client users see the editors read-only; changing them is for the client's admins.
    Raises ``NotAllowed``, which ``portal_page`` answers with a 403 page."""
    if not is_client_admin(request):
        raise NotAllowed("Only your organisation's admins can change this.")
