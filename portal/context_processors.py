from __future__ import annotations

from django.http import HttpRequest

from portal.access import is_client_admin
from portal.selectors import unacknowledged_count


def portal(request: HttpRequest) -> dict:
    """The portal's navigation on a client's host: the unacknowledged count (computed only
    when a template shows it) and whether the user may edit."""
    client = getattr(request, "host_client", None)
    user = getattr(request, "user", None)
    if client is None or not getattr(user, "is_authenticated", False) or not user.may_use_host(client):
        return {}
    return {"portal_nav": True, "portal_unacknowledged": unacknowledged_count,
            "portal_is_admin": is_client_admin(request)}
