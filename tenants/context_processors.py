from __future__ import annotations

from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    """Which site the page belongs to: the platform, or one client's portal."""
    client = getattr(request, "host_client", None)
    return {"host_client": client, "brand_name": client.name if client else "Switchboard"}
