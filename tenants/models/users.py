"""One user model for everyone: platform staff, agents and the clients' own people."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from .clients import LANGUAGES, Client, default_languages, validate_languages


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", "Platform admin"
    SUPERVISOR = "supervisor", "Supervisor"
    AGENT = "agent", "Agent"
    CLIENT_ADMIN = "client_admin", "Client admin"
    CLIENT_USER = "client_user", "Client user"


PLATFORM_ROLES = (Role.PLATFORM_ADMIN, Role.SUPERVISOR, Role.AGENT)
CLIENT_ROLES = (Role.CLIENT_ADMIN, Role.CLIENT_USER)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("Users log in by email; an email is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(role=Role.PLATFORM_ADMIN, is_superuser=True, client=None)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Logs in by email. Client roles belong to exactly one client, platform roles to none."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.CASCADE, related_name="users",
        help_text="Client users and client admins belong to one client; platform staff to none.",
    )
    is_active = models.BooleanField(default=True)
    # Call recordings are personal data of the callers: a client admin decides who hears them.
    recordings_allowed = models.BooleanField(
        "may hear recordings", default=False, db_default=False,
        help_text="Client users only: may play call recordings and voicemails in the portal (client admins always may).")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = ["role"]

    class Meta:
        ordering = ["email"]
        constraints = [
            # The invariant the whole isolation story rests on, so the database holds it.
            models.CheckConstraint(
                condition=(
                    Q(role__in=[r.value for r in CLIENT_ROLES], client__isnull=False)
                    | Q(role__in=[r.value for r in PLATFORM_ROLES], client__isnull=True)
                ),
                name="user_client_matches_role",
                violation_error_message="Client roles belong to exactly one client; platform roles to none.",
            ),
            models.CheckConstraint(
                condition=Q(is_superuser=False) | Q(role=Role.PLATFORM_ADMIN),
                name="user_only_platform_admins_are_superusers",
                violation_error_message="Only platform admins are superusers.",
            ),
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def first_name(self) -> str:
        return (self.full_name or self.email).split()[0]

    # Roles --------------------------------------------------------------------------
    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN

    @property
    def is_platform_user(self) -> bool:
        return self.role in PLATFORM_ROLES

    @property
    def is_client_user(self) -> bool:
        return self.role in CLIENT_ROLES

    @property
    def is_staff(self) -> bool:
        """Who may open the platform's Django admin."""
        return self.is_active and self.role in (Role.PLATFORM_ADMIN, Role.SUPERVISOR)

    def has_perm(self, perm: str, obj=None) -> bool:
        if self.is_active and self.role == Role.SUPERVISOR and perm.split(".")[-1].startswith("view_"):
            return True  # supervisors see everything, change only what they are granted
        return super().has_perm(perm, obj)

    def may_use_host(self, client: Client | None) -> bool:
        """May this user work on this host? ``client`` is None on the platform host."""
        if not self.is_active:
            return False
        if client is None:
            return self.is_platform_user
        return self.is_client_user and self.client_id == client.pk

    def may_hear_recordings(self, client: Client) -> bool:
        """May this user play ``client``'s call recordings in its portal?"""
        if not (self.is_active and self.client_id == client.pk):
            return False
        return self.role == Role.CLIENT_ADMIN or (self.role == Role.CLIENT_USER and self.recordings_allowed)

    def may_edit_client_data(self, client: Client) -> bool:
        """The tenant-data admin: a client's admins for their own client; platform admins for any."""
        if not self.is_active:
            return False
        return self.is_platform_admin or (self.role == Role.CLIENT_ADMIN and self.client_id == client.pk)


class AgentProfile(models.Model):
    """What an agent can answer: which clients, which languages, which kind of work."""

    class Mode(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"
        BLENDED = "blended", "Blended"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent_profile")
    clients = models.ManyToManyField(Client, blank=True, related_name="agents", help_text="Clients the agent is trained for.")
    languages = ArrayField(models.CharField(max_length=8, choices=LANGUAGES), default=default_languages, validators=[validate_languages])
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.INBOUND)
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 is offered calls first among equally idle agents.")

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"Skills of {self.user}"

    def serves(self, client: Client, language: str) -> bool:
        return language in self.languages and self.clients.filter(pk=client.pk).exists()
