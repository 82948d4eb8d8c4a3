"""The client portal's event webhooks: endpoints (add with a URL and events, the secret shown
once, rotate it, disable / enable, delete) and each endpoint's delivery log with "send again".

Thin, like the portal's other pages: the form parses, ``webhooks.selectors`` reads, the services
of ``webhooks.services`` change. Client admins only (URLs and secrets of their systems); looked
up in the host's schema, so another client's ids are simply not found (404).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.access import admin_only, portal_page
from webhooks import selectors, services
from webhooks.models import EventType, WebhookEndpoint

DELIVERIES_PER_PAGE = 50
_SECRET_KEY = "webhook_secret_once"


class EndpointForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL",
                         help_text="Your system's address for our events: https://…")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Events",
        help_text="None ticked: every event, including ones added later.")


def _endpoint(pk: int) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(pk)
    if endpoint is None:
        raise Http404("No such endpoint here.")
    return endpoint


def _by(request: HttpRequest) -> str:
    return request.user.full_name or request.user.email


def _errors_into(form: forms.Form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def _show_secret_once(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    request.session[_SECRET_KEY] = {"endpoint": endpoint.pk, "secret": secret}


@portal_page
def endpoint_list(request: HttpRequest) -> HttpResponse:
    admin_only(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(url=form.cleaned_data["url"], description=form.cleaned_data["description"],
                                                event_types=form.cleaned_data["event_types"])
        except ValidationError as error:
            _errors_into(form, error)
        else:
            _show_secret_once(request, endpoint, endpoint.secret)
            flash.success(request, f"Endpoint added: {endpoint.url}. Copy its signing secret now.")
            return redirect("portal:webhook", pk=endpoint.pk)
    return render(request, "portal/webhooks.html", {
        "endpoints": selectors.endpoint_list(), "form": form, "active": "webhooks",
        "disabled": selectors.endpoints_disabled_by_us(), "labels": dict(EventType.choices)},
        status=400 if form.errors else 200)


@portal_page
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    endpoint = _endpoint(pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, url=form.cleaned_data["url"],
                                     description=form.cleaned_data["description"],
                                     event_types=form.cleaned_data["event_types"])
        except ValidationError as error:
            _errors_into(form, error)
        else:
            flash.success(request, "Saved.")
            return redirect("portal:webhook", pk=endpoint.pk)
    once = request.session.pop(_SECRET_KEY, None)
    secret = once["secret"] if once and once.get("endpoint") == endpoint.pk else ""
    page = Paginator(selectors.endpoint_deliveries(endpoint), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/webhooks_endpoint.html", {
        "endpoint": endpoint, "form": form, "secret": secret, "page": page, "active": "webhooks",
        "labels": dict(EventType.choices), "rotating": bool(endpoint.previous_secret_until
                                                            and endpoint.previous_secret_until > timezone.now())},
        status=400 if form.errors else 200)


@portal_page
@require_POST
def endpoint_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    admin_only(request)
    endpoint = _endpoint(pk)
    if action == "rotate":
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        _show_secret_once(request, endpoint, secret)
        flash.success(request, f"New signing secret below. For {services.ROTATION_OVERLAP.total_seconds() / 3600:.0f} "
                               "hours the old one signs too: switch your receiver to the new one meanwhile.")
    elif action == "disable":
        services.endpoint_disable(endpoint=endpoint, reason=f"Disabled by {_by(request)}.")
        flash.success(request, "Disabled: nothing more is sent to it; queued deliveries are cancelled.")
    elif action == "enable":
        services.endpoint_enable(endpoint=endpoint)
        flash.success(request, "Enabled: new events go to it again. Send missed ones again from the log.")
    elif action == "delete":
        services.endpoint_delete(endpoint=endpoint)
        flash.success(request, f"Deleted {endpoint.url} and its delivery log.")
        return redirect("portal:webhooks")
    return redirect("portal:webhook", pk=endpoint.pk)


@portal_page
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    delivery = selectors.delivery_get(pk)
    if delivery is None:
        raise Http404("No such delivery here.")
    try:
        services.delivery_resend(delivery=delivery)
    except services.WebhookRefused as refused:
        flash.error(request, str(refused))
    else:
        flash.success(request, f"Sending {delivery.message.type} {delivery.message.event_id} again now.")
    return redirect("portal:webhook", pk=delivery.endpoint_id)
