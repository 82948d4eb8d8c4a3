"""The two admin sites.

- ``django.contrib.admin.site`` on the platform host: clients, domains, numbers, users and
  agents' skills (public schema). Platform admins and supervisors.
- ``client_data_admin``: one client's own data (its schema: settings, knowledge, and
  later scripts, schedules, DNC...). Served on the client's host at /admin/ to that
  client's admins, and on the platform host at /clients/<slug>/admin/ to platform
  admins. Either way the request runs in that client's schema, so what it lists is
  that client's and nothing else.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect


class ClientDataAdminSite(admin.AdminSite):
    site_header = "Client data"
    index_title = "This client's data"
    site_url = None

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        client = getattr(request, "tenant", None)
        return bool(
            user.is_authenticated and client is not None and client.pk is not None and user.may_edit_client_data(client)
        )

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["site_header"] = f"{request.tenant.name} — client data"
        context["site_title"] = request.tenant.name
        return context

    def login(self, request: HttpRequest, extra_context=None):
        if request.user.is_authenticated:
            # Logged in but not allowed: say so (a redirect to the login page would loop).
            raise PermissionDenied("Only this client's admins and platform admins edit its data.")
        # One login page per host: the host's own, which knows who belongs there.
        return HttpResponseRedirect("/accounts/login/?" + urlencode({"next": request.get_full_path()}))


client_data_admin = ClientDataAdminSite(name="client_data_admin")


class ClientDataPermissions:
    """Whoever the client-data site lets in may use its admins and inlines.

    Client roles hold no per-model permission rows (those live in the public schema and
    know nothing of clients), so access is the site's decision: ``has_permission``.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.admin_site.has_permission(request)


class ClientDataModelAdmin(ClientDataPermissions, admin.ModelAdmin):
    """Base for admins of tenant data."""


class ClientDataInline(ClientDataPermissions):
    """Mix into an inline (TabularInline, StackedInline) of tenant data."""


class ReadOnlyAdminMixin:
    """Records of what happened (calls, the ledger, registry loads): read, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
