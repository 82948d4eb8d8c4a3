"""The portal's API keys page (client admins only): create a key — its plain text shown once, on
the page that answers the creation, never again —, see each key's prefix, scopes, last use and
expiry, revoke one. Thin: the form parses, ``api.services.keys`` creates and revokes."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from api.models import ApiKey, Scope
from api.selectors import api_keys_of
from api.services.keys import api_key_create, api_key_revoke
from portal.access import admin_only, portal_page


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “Practice software”.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Choose at least one scope."})
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Empty: never. The key stops working at the start of that day.")

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def _by(request: HttpRequest) -> str:
    user = request.user
    return f"{user.full_name} <{user.email}>" if user.full_name else user.email


@portal_page
def api_keys(request: HttpRequest) -> HttpResponse:
    admin_only(request)
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            key, plain = api_key_create(client=request.host_client, name=form.cleaned_data["name"],
                                        scopes=form.cleaned_data["scopes"], expires_at=form.expires_at(),
                                        by=_by(request))
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error("expires_on" if name == "expires_at" else name if name in form.fields else None,
                               errors)
        else:
            created = (key, plain)  # rendered once, right here; a reload shows only the prefix
            form = ApiKeyForm()
    response = render(request, "portal/api_keys.html", {
        "form": form, "keys": api_keys_of(request.host_client), "created": created, "active": "api_keys",
        "base_url": f"{request.scheme}://{request.get_host()}", "now": timezone.now()})
    if created:
        response["Cache-Control"] = "no-store"  # the page holding the plain key is never kept
    return response


@portal_page
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    key = get_object_or_404(ApiKey, pk=pk, client=request.host_client)
    if api_key_revoke(key=key, by=_by(request)):
        flash.success(request, f"{key.display} revoked: it stops working at once.")
    else:
        flash.info(request, f"{key.display} was already revoked.")
    return redirect("portal:api_keys")
