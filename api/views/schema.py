"""The OpenAPI description's shared parts: the problem-details body and its responses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.errors import PROBLEM_JSON


class FieldError(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The field (a dotted path), null for the whole input.")
    message = serializers.CharField(help_text="Why it was refused.")


class Problem(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="urn:switchboard:problem:<name> (docs/api.md lists them).")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(help_text="The request's path and query.")
    errors = FieldError(many=True, required=False)


_WHY = {400: "The input is not valid (errors names each field)", 401: "No key, or the key is unknown here, revoked "
        "or expired", 403: "The key lacks a scope this operation needs", 404: "Not found (for this client)",
        409: "A request with this Idempotency-Key is still running", 502: "Twilio did not give us the recording", 422: "Idempotency-Key reused with another "
        "request, or the service refused", 429: "Rate limit or spending cap reached (see Retry-After)"}


def problems(*codes: int) -> dict:
    """Problem responses for ``codes``, keyed as drf-spectacular takes them (status, media type)."""
    return {(code, PROBLEM_JSON): OpenApiResponse(Problem, description=_WHY.get(code, "A problem")) for code in codes}


PROBLEMS = {
    "idempotency": OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
        description="Any unique string (a UUID): a retry with the same key returns the first answer and does "
                    "nothing twice. Kept 24 hours."),
}


# The parameters of a polled, paginated list (calls, messages): page size, cursor, ETag.
POLLED_PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Page size, 1–200 (default 50)."),
    OpenApiParameter("cursor", str, description="From the previous page's next or previous link."),
    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER,
                     description="The ETag of the last answer: 304 if nothing changed."),
]
