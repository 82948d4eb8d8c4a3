"""Which client a request is for, and whether its user may be here.

The host picks the schema: the platform host serves staff, agents, the admin and
Twilio; ``<slug>.<PLATFORM_DOMAIN>`` serves that client's portal. One more door:
platform admins edit any client's data at ``/clients/<slug>/admin/`` on the platform
host, served by the same client-data admin that the client's own admins use on
their host, running inside that client's schema.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import Http404, HttpRequest
from django.urls import set_script_prefix, set_urlconf
from django_tenants.middleware import TenantMainMiddleware

from tenants import selectors

CLIENT_DATA_PREFIX = re.compile(r"^/clients/(?P<slug>[a-z][a-z0-9_]*)(?=/admin/)")
CLIENT_DATA_URLCONF = "switchboard.urls_client_data"


class ClientHostMiddleware(TenantMainMiddleware):
    """Resolve the client from the Host header (and the client-data prefix on the platform host)."""

    def get_tenant(self, domain_model, hostname):
        if hostname in settings.PLATFORM_HOSTS:
            return selectors.platform_tenant()
        return super().get_tenant(domain_model, hostname)

    def process_request(self, request: HttpRequest):
        response = super().process_request(request)
        if response is not None:
            return response
        request.is_platform_host = request.tenant.schema_name == selectors.PUBLIC_SCHEMA
        request.host_client = None if request.is_platform_host else request.tenant
        if request.is_platform_host:
            self._enter_client_data_prefix(request)
        return None

    def process_response(self, request: HttpRequest, response):
        # The script prefix is per thread (or task): give the next request a clean one.
        if getattr(request, "client_data_prefix", None):
            set_script_prefix(request.META.get("SCRIPT_NAME") or "/")
        return response

    @staticmethod
    def _enter_client_data_prefix(request: HttpRequest) -> None:
        match = CLIENT_DATA_PREFIX.match(request.path_info)
        if not match:
            return
        client = selectors.client_get_by_slug(match["slug"])
        if client is None:
            raise Http404("No such client.")
        # Mount the client-data admin under the prefix, the way a WSGI server mounts an
        # app: reverse() then builds /clients/<slug>/admin/... links by itself.
        request.tenant = client
        connection.set_tenant(client)
        request.path_info = request.path_info[match.end():]
        request.client_data_prefix = match.group(0)
        set_script_prefix(request.META.get("SCRIPT_NAME", "").rstrip("/") + match.group(0) + "/")
        request.urlconf = CLIENT_DATA_URLCONF
        set_urlconf(CLIENT_DATA_URLCONF)


class HostMembershipMiddleware:
    """A session is only good on a host its user belongs to.

    A client's user is anonymous on another client's host and on the platform host, even
    with a valid session cookie copied over; platform staff are anonymous on client hosts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = request.user
        if isinstance(user, get_user_model()) and not user.may_use_host(request.host_client):
            request.user = AnonymousUser()
        return self.get_response(request)
