"""What every API operation has: the key, its scopes, the rate limits, problem details,
``Idempotency-Key`` on POSTs, and the client's time zone.

A view subclasses ``ApiView`` (or ``ApiListView`` for a paginated list), sets
``required_scopes``, and calls services and selectors; serializers only shape input and output."""

from __future__ import annotations

import zoneinfo

from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import generics
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from api import idempotency
from api.auth import ApiKeyAuthentication, HasScopes
from api.errors import problem_exception_handler
from api.pagination import ApiCursorPagination
from api.ratelimit import KeyAndClientRateThrottle


def iso(value):
    """A datetime as DRF's DateTimeField writes it (ISO 8601 in the current time zone, UTC as Z)."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "sb_<48 letters and digits>",
                "description": "An API key from the portal's API keys page."}


class _ApiMixin:
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScopes]
    throttle_classes = [KeyAndClientRateThrottle]
    renderer_classes = [JSONRenderer]
    required_scopes: tuple[str, ...] = ()
    _idempotent_row = None

    def get_exception_handler(self):
        return problem_exception_handler


    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
                return super().dispatch(request, *args, **kwargs)
        # A POST's effects and its Idempotency-Key answer commit together (api/idempotency.py).
        with transaction.atomic(), timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            elif self._idempotent_row is not None:
                idempotency.store(self._idempotent_row, response)
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # the key, its scopes, the rate limits
        if request.method == "POST":
            self._idempotent_row = idempotency.claim(request, api_key_id=request.auth.pk)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)


class ApiView(_ApiMixin, APIView):
    pass  # one operation (no docstring: the schema would show it as every operation's description)


class ApiListView(_ApiMixin, generics.GenericAPIView):
    # A paginated list (cursor, ``limit``).
    pagination_class = ApiCursorPagination
