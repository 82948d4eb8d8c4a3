"""Weak ETags on lists clients poll: ``If-None-Match`` answers 304 with no body and no page query."""

from __future__ import annotations

import hashlib

from django.db.models import Count, Max, QuerySet
from rest_framework.response import Response


def list_etag(queryset: QuerySet, *, request, changed_field: str = "updated", extra: str = "") -> str:
    """A weak ETag for a filtered list, from one aggregate query: how many rows, the newest
    change and the highest id. Any row added, changed (``changed_field`` moves) or removed
    changes one of the three; the query string is part of it, so each page has its own."""
    facts = queryset.order_by().aggregate(n=Count("pk"), changed=Max(changed_field), last=Max("pk"))
    seed = f"{facts['n']}|{facts['changed'] and facts['changed'].isoformat()}|{facts['last']}|" \
           f"{request.get_full_path()}|{extra}"
    return 'W/"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def body_etag(data, *, request) -> str:
    """A weak ETag from what a list would answer (for lists without one column that moves on every change)."""
    import json

    seed = json.dumps(data, sort_keys=True, default=str) + request.get_full_path()
    return 'W/"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def matches(request, etag: str) -> bool:
    """Does ``If-None-Match`` name ``etag`` (weak comparison, RFC 9110 13.1.2)?"""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    strip = lambda tag: tag.strip().removeprefix("W/")  # noqa: E731
    return any(strip(tag) == strip(etag) for tag in header.split(","))


def not_modified(etag: str) -> Response:
    return Response(status=304, headers={"ETag": etag})
