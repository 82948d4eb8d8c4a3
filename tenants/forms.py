"""Login and password reset that know which host they are on."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from tenants.models import User


class HostAuthenticationForm(AuthenticationForm):
    """Accepts only users who belong on this host (platform staff, or this client's people)."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.may_use_host(getattr(self.request, "host_client", None)):
            # Same words as a wrong password: the form must not reveal which accounts exist.
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})


class HostPasswordResetForm(PasswordResetForm):
    """Sends reset links only to accounts that may log in on the host asked from."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def get_users(self, email: str):
        host_client = getattr(self.request, "host_client", None)
        return (user for user in super().get_users(email) if user.may_use_host(host_client))
