"""Login, logout, password reset and the landing pages, on the platform host and on client hosts."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants import selectors, throttle
from tenants.forms import HostAuthenticationForm, HostPasswordResetForm


class LoginView(auth_views.LoginView):
    form_class = HostAuthenticationForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    form_class = HostPasswordResetForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A link only works on the host its account belongs to.
        if user is not None and not user.may_use_host(self.request.host_client):
            return None
        return user

    def form_valid(self, form):
        # Whoever locked the account out by guessing, its owner just proved they read its email.
        throttle.login_account_unlock(username=form.user.email)
        return super().form_valid(form)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.host_client is not None:
        return redirect("portal:inbox")  # a client's host serves the portal (portal/urls.py)
    return render(request, "platform/home.html", {"clients": selectors.client_list()})
