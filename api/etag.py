"""Weak ETags on lists clients poll: ``If-None-Match`` answers 304 with no body and no page query."""

from __future__ import annotations

import hashlib

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Count, Max, QuerySet
from rest_framework.response import Response


def list_etag(queryset: QuerySet, *, request, changed_field: str = "updated", extra: str = "") -> str:
    """A weak ETag for a filtered list, from one aggregate query: how many rows, the newest
    change and the highest id. Any row added, changed (``changed_field`` moves) or removed
    changes one of the three; the query string is part of it, so each page has its own."""
    facts = _facts(queryset, changed_field)
    seed = f"{facts['n']}|{facts['changed'] and facts['changed'].isoformat()}|{facts['last']}|" \
           f"{request.get_full_path()}|{extra}"
    return 'W/"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def _facts(queryset: QuerySet, changed_field: str) -> dict:
    """How many rows, the newest ``changed_field``, the highest id: the filter's own WHERE under one
    short hand-written SELECT. ``aggregate()`` builds the same statement through the ORM's general
    path, which cost ten times the query itself on every poll (docs/api.md, the figure). Filters
    that join other tables take that general path still."""
    query = queryset.query.chain()
    alias = query.get_initial_alias()
    if len(query.alias_map) != 1 or query.distinct or query.is_sliced or query.combinator:
        return queryset.order_by().aggregate(n=Count("pk"), changed=Max(changed_field), last=Max("pk"))
    compiler = query.get_compiler(queryset.db)
    try:
        where, params = compiler.compile(query.where)
    except EmptyResultSet:
        return {"n": 0, "changed": None, "last": None}
    except FullResultSet:
        where, params = "", ()
    meta, quote = queryset.model._meta, compiler.quote_name_unless_alias
    table = quote(alias)
    sql = (f"SELECT COUNT(*), MAX({table}.{quote(meta.get_field(changed_field).column)}), "
           f"MAX({table}.{quote(meta.pk.column)}) FROM {quote(meta.db_table)}"
           f"{'' if alias == meta.db_table else ' ' + table}{' WHERE ' + where if where else ''}")
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        n, changed, last = cursor.fetchone()
    return {"n": n, "changed": changed, "last": last}


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
