"""Cursor pagination for every list: ``limit`` (default 50, at most 200), newest first by id.

A cursor holds a position, not a page number, so rows arriving while a client pages never
shift what it sees; ids are unique and never change, a stable order."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    ordering = "-pk"

    def get_page_size(self, request):
        from api.errors import Problem

        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise Problem(400, "invalid", "The request's input is not valid",
                          f"limit: a whole number from 1 to {self.max_page_size}.",
                          errors=[{"field": "limit", "message": f"A whole number from 1 to {self.max_page_size}."}])
        return size

    def decode_cursor(self, request):
        from rest_framework.exceptions import NotFound

        from api.errors import Problem

        try:
            return super().decode_cursor(request)
        except NotFound as exc:  # DRF says 404; a cursor that is not one of ours is bad input
            raise Problem(400, "invalid", "The request's input is not valid",
                          "cursor: not a cursor from this list's next or previous link.",
                          errors=[{"field": "cursor", "message": "Not a cursor from this list's links."}]) from exc

    def get_paginated_response_schema(self, schema):
        found = super().get_paginated_response_schema(schema)
        for name in ("next", "previous"):
            found["properties"][name]["format"] = "uri-reference"
        return found
