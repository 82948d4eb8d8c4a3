"""One error shape everywhere in the API: RFC 9457 problem details.

``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``, ``instance``,
and for a refused input ``errors: [{field, message}]`` naming each field and why. Every
exception a view raises comes through ``problem_exception_handler``; URLs under /api/ that
match nothing get ``not_found`` (api/urls.py); an unexpected error is logged and answered 500,
in the same shape, never a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:switchboard:problem:"  # types are names, not pages; docs/api.md lists them


class Problem(exceptions.APIException):
    """Raise one to answer a problem: ``Problem(409, "conflict", "Already done", "…")``."""

    def __init__(self, status_code: int, slug: str, title: str, detail: str = "", *, errors: list | None = None,
                 headers: dict | None = None):
        super().__init__(detail or title)
        self.status_code = status_code
        self.slug, self.title, self.detail_text = slug, title, detail
        self.errors, self.headers = errors, headers or {}


def problem_body(*, status_code: int, slug: str, title: str, detail: str = "", instance: str = "",
                 errors: list | None = None) -> dict:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status_code, "detail": detail or title,
            "instance": instance}
    if errors is not None:
        body["errors"] = errors
    return body


def _flatten(detail, path: str = "") -> list[dict]:
    """DRF's nested error details as [{field, message}], the field a dotted path (null: the whole input)."""
    if isinstance(detail, dict):
        found = []
        for name, value in detail.items():
            field = None if name in ("non_field_errors", "__all__") else (f"{path}.{name}" if path else str(name))
            found += _flatten(value, field or path)
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"field": path or None, "message": str(item)} for item in detail]
        found = []
        for i, item in enumerate(detail):
            found += _flatten(item, f"{path}.{i}" if path else str(i))
        return found
    return [{"field": path or None, "message": str(detail)}]


_SLUGS = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
          406: "not-acceptable", 409: "conflict", 412: "precondition-failed", 415: "unsupported-media-type",
          422: "unprocessable", 429: "too-many-requests", 500: "server-error", 503: "unavailable"}


def problem_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception handler for the API: every refusal and failure as a problem."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Problem):
        body = problem_body(status_code=exc.status_code, slug=exc.slug, title=exc.title, detail=exc.detail_text,
                            instance=instance, errors=exc.errors)
        headers.update(exc.headers)
        code = exc.status_code
    elif isinstance(exc, exceptions.APIException):
        code = exc.status_code
        errors = None
        if isinstance(exc, exceptions.ValidationError):
            errors = _flatten(exc.detail)
            detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
            title = "The request's input is not valid"
        else:
            detail = str(exc.detail)
            title = HTTPStatus(code).phrase
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        body = problem_body(status_code=code, slug=_SLUGS.get(code, str(code)), title=title, detail=detail,
                            instance=instance, errors=errors)
    else:
        logger.exception("API request failed: %s", instance)
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = problem_body(status_code=code, slug="server-error", title="Internal Server Error",
                            detail="Something went wrong on our side; it is logged. Try again later.",
                            instance=instance)
    return Response(body, status=code, headers=headers, content_type=PROBLEM_JSON)


def problem_json(request: HttpRequest, *, status_code: int, detail: str = "", headers: dict | None = None) -> JsonResponse:
    """A problem answered outside DRF's views (an unknown URL under /api/)."""
    body = problem_body(status_code=status_code, slug=_SLUGS.get(status_code, str(status_code)),
                        title=HTTPStatus(status_code).phrase, detail=detail, instance=request.get_full_path())
    response = JsonResponse(body, status=status_code, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@csrf_exempt  # any method: a POST to no operation is a 404, not a CSRF page
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    return problem_json(request, status_code=404, detail=f"No API operation at {request.path}.")
