"""Login and password reset that know which host they are on, and slow down guessing."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from tenants import throttle
from tenants.models import User


class LoginThrottleMixin:
    """Refuses logins while the account or the address is locked (tenants/throttle.py), before
    the password is even checked; counts every refusal (wrong password, wrong host) as a failure."""

    @sensitive_variables()
    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # a field is missing: the form says so, no guess was made
        address = throttle.client_address(self.request)
        locked = throttle.login_lock_remaining(username=username, address=address)
        if locked:
            raise ValidationError(throttle.login_locked_message(locked), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            locked = throttle.login_failure_record(username=username, address=address)
            if locked:  # this failure started the lock: say so now rather than on the next try
                raise ValidationError(throttle.login_locked_message(locked), code="locked") from None
            raise
        throttle.login_success_record(username=username)
        return cleaned


class HostAuthenticationForm(LoginThrottleMixin, AuthenticationForm):
    """Accepts only users who belong on this host (platform staff, or this client's people)."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.may_use_host(getattr(self.request, "host_client", None)):
            # Same words as a wrong password: the form must not reveal which accounts exist.
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})


class PlatformAdminAuthenticationForm(LoginThrottleMixin, AdminAuthenticationForm):
    """The platform admin's own login page (/admin/login/ on the platform host), throttled alike."""


class HostPasswordResetForm(PasswordResetForm):
    """Sends reset links only to accounts that may log in on the host asked from, and not too
    often (tenants/throttle.py); the page that follows is the same whether or not one went."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def get_users(self, email: str):
        host_client = getattr(self.request, "host_client", None)
        address = throttle.client_address(self.request)
        return (user for user in super().get_users(email)
                if user.may_use_host(host_client)
                and throttle.password_reset_allow(user_id=user.pk, email=user.email, address=address))
