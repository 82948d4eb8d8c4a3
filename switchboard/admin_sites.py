"""The two admin sites.

- ``django.contrib.admin.site`` on the platform host: clients, domains, numbers, users and
  agents' skills (public schema). Platform admins and supervisors.
- ``client_data_admin``: one client's own data (its schema: settings, knowledge, and
  later scripts, schedules, DNC...). Served on the client's host at /admin/ to that
  client's admins, and on the platform host at /clients/<slug>/admin/ to platform
  admins. Either way the request runs in that client's schema, so what it lists is
  that client's and nothing else.

The admin's log (``LogEntry``: each object's history, the index's "recent actions") is
kept in the schema of the data it describes — ``django.contrib.admin`` is in both
``SHARED_APPS`` and ``TENANT_APPS`` — because object ids repeat in every client's schema
and one shared log would show client A what B's admin did to B's object 1.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, connection, transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponseBadRequest, HttpResponseRedirect
from django.template import engines
from django.urls import path
from django_tenants.utils import schema_context

from tenants.models import Client
from tenants.selectors import PUBLIC_SCHEMA


def _tables_here(model) -> bool:
    """Is ``model``'s table in the schema this connection runs in? The public schema has
    the shared apps' tables only; a client's schema its own, with public's behind it."""
    name = model._meta.app_config.name
    if connection.schema_name == PUBLIC_SCHEMA:
        return name in settings.SHARED_APPS
    return name in settings.SHARED_APPS or name in settings.TENANT_APPS


def view_on_site(request: HttpRequest, content_type_id: int, object_id: str):
    """The admin's "view on site" redirect (``/admin/r/<content type>/<id>/``), answered
    404 before any query when the object has no page or its table is not in this schema
    (a client's object asked for on the platform host: Django's view would query the
    client's table in the public schema and fail with a 500)."""
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model = content_type.model_class() if content_type else None
    if model is None or not hasattr(model, "get_absolute_url") or not _tables_here(model) or "\x00" in object_id:
        raise Http404("No page on this site for that object.")
    return shortcut(request, content_type_id, object_id)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="admin_log_follows_its_user")
def _user_log_entries_delete(sender, instance, **kwargs) -> None:
    """Django deletes a user's log entries with the user (``LogEntry.user`` cascades), but
    only in the schema the deletion runs in: delete the user's entries in each client's
    schema too, or the client's log would point at a user who is gone (and the foreign
    key would refuse the deletion at commit)."""
    clients = Client.objects.exclude(schema_name=PUBLIC_SCHEMA)
    if instance.client_id is not None:
        clients = clients.filter(pk=instance.client_id)  # a client's user only ever edits that client's data
    for schema in clients.values_list("schema_name", flat=True):
        with schema_context(schema):
            LogEntry.objects.filter(user_id=instance.pk).delete()


# --- Changelist filters: a malformed value is a 400 that says which and why ------------

_BAD_FILTER_PAGE = engines["django"].from_string(
    '{% extends "admin/base_site.html" %}{% block content %}'
    '<h1>This list cannot be filtered that way</h1>'
    '<p class="errornote">{{ reason }}</p>'
    '<p>Filters asked for: {% for name, value in asked %}<code>{{ name }}={{ value }}</code>{% if not forloop.last %}, '
    '{% endif %}{% endfor %}.</p>'
    '<p><a href="{{ request.path }}">Show the whole list</a></p>{% endblock %}'
)


class _FilterRefused(Exception):
    pass


class RefusingChangeList(ChangeList):
    """A changelist that refuses values the database cannot take, rather than failing on
    them: a NUL byte (PostgreSQL text cannot hold one), or any value the database rejects
    while counting (run in a savepoint, so the request's transaction stays usable)."""

    def get_queryset(self, request, exclude_parameters=None):
        for name, values in request.GET.lists():
            if any("\x00" in value for value in values) or "\x00" in name:
                raise IncorrectLookupParameters(f"“{name}” holds a NUL character, which no field can hold.")
        return super().get_queryset(request, exclude_parameters)

    def get_results(self, request):
        try:
            with transaction.atomic():
                super().get_results(request)
        except (DataError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class RefusingFiltersMixin:
    """Mix into a ModelAdmin: a malformed filter, search or page (``?id__gt=abc``,
    ``?created__gte=notadate``, ``?outcome=%00``) is answered 400 with the reason, where
    Django would redirect to ``?e=1`` ("something's wrong with your database installation")
    or fail with a 500."""

    def get_changelist(self, request, **kwargs):
        return RefusingChangeList

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            raise _FilterRefused(_reason(exc)) from exc

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except _FilterRefused as exc:
            context = {**self.admin_site.each_context(request), "title": "Bad filter", "reason": str(exc),
                       "asked": [(name, value) for name, values in request.GET.lists() for value in values]}
            return HttpResponseBadRequest(_BAD_FILTER_PAGE.render(context, request))


def _reason(exc: IncorrectLookupParameters) -> str:
    cause = exc.__cause__ or (exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else None)
    if isinstance(cause, ValidationError):
        return " ".join(cause.messages)
    if isinstance(cause, IncorrectLookupParameters):
        return _reason(cause)
    text = str(cause or exc) or "A filter or page number in the address is not valid for this list."
    return text.replace("\x00", "\\x00")

from tenants.forms import PlatformAdminAuthenticationForm

# The platform admin keeps Django's login page at /admin/login/, throttled like the others.
admin.site.login_form = PlatformAdminAuthenticationForm


class ClientDataAdminSite(admin.AdminSite):
    site_header = "Client data"
    index_title = "This client's data"
    site_url = None

    def get_urls(self):
        # "View on site" resolves in this client's schema, through the guarded view.
        ours = [path("r/<int:content_type_id>/<path:object_id>/", self.admin_view(view_on_site), name="view_on_site")]
        return ours + [url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site"]

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


class ClientDataModelAdmin(RefusingFiltersMixin, ClientDataPermissions, admin.ModelAdmin):
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
