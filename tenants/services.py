"""Verbs that change clients, numbers and people."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context, schema_exists

from answering import services as answering_services
from tenants.models import AgentProfile, Client, Domain, PhoneNumber, Role, User
from tenants.models.clients import validate_languages, validate_time_zone
from tenants.phone import to_e164
from tenants.schema_clone import schema_clone

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA: str = settings.TENANT_BASE_SCHEMA
# A slug is both the schema name and the first label of the portal host, so it must be
# valid as each: lowercase letters and digits, starting with a letter.
SLUG_RE = re.compile(r"^[a-z][a-z0-9]{1,39}$")
RESERVED_SLUGS = {"public", "www", "admin", "api", "static", "media", "twilio", "platform", TEMPLATE_SCHEMA}


@dataclass(frozen=True)
class NumberSpec:
    number: str
    purpose: str = PhoneNumber.Purpose.ANSWERING
    label: str = ""
    twilio_sid: str = ""
    twilio_account_sid: str = ""


@dataclass
class _Errors:
    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def check(self, name: str, validator, value) -> None:
        try:
            validator(value)
        except ValidationError as exc:
            for message in exc.messages:
                self.add(name, message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


# --- The template schema new clients are cloned from ---------------------------------

_template_known_current = False


def template_schema_sync(*, verbosity: int = 0) -> None:
    """Create the template schema if missing and apply every tenant migration to it."""
    global _template_known_current
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{TEMPLATE_SCHEMA}"')
    call_command("migrate_schemas", tenant=True, schema_name=TEMPLATE_SCHEMA, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()
    _template_known_current = True


def template_schema_is_current() -> bool:
    """True when the template holds every migration on disk (so a clone needs none)."""
    if not schema_exists(TEMPLATE_SCHEMA):
        return False
    with schema_context(TEMPLATE_SCHEMA):
        executor = MigrationExecutor(connection)
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def _ensure_template_current() -> None:
    # Cloning a stale template would hand the client a schema missing migrations, so
    # check once per process (migrations on disk don't change under a running process).
    global _template_known_current
    if not _template_known_current:
        if not template_schema_is_current():
            logger.warning("template schema %s is stale; migrating it before cloning", TEMPLATE_SCHEMA)
            template_schema_sync()
        _template_known_current = True


# --- Provisioning -------------------------------------------------------------------

def client_provision(
    *,
    name: str,
    slug: str,
    time_zone: str,
    languages: list[str] | tuple[str, ...] = ("en",),
    domain: str | None = None,
    numbers: list[NumberSpec] | tuple[NumberSpec, ...] = (),
) -> Client:
    """Create a client: its row, schema, portal domain, numbers and default settings.

    All or nothing: every input is checked first and every problem reported at once
    (field → messages); the writes, including the schema (PostgreSQL DDL is
    transactional), happen in one transaction, so a failure leaves no orphan schema.
    The schema is cloned from the migrated template instead of replaying migrations.
    """
    slug, domain, parsed_numbers = client_provision_validate(
        name=name, slug=slug, time_zone=time_zone, languages=languages, domain=domain, numbers=numbers
    )
    _ensure_template_current()
    try:
        with transaction.atomic():
            client = Client.objects.create(
                schema_name=slug, name=name.strip(), time_zone=time_zone, languages=list(languages)
            )
            schema_clone(TEMPLATE_SCHEMA, slug)
            Domain.objects.create(tenant=client, domain=domain, is_primary=True)
            for spec in parsed_numbers:
                PhoneNumber.objects.create(
                    client=client, number=spec.number, purpose=spec.purpose, label=spec.label,
                    twilio_sid=spec.twilio_sid, twilio_account_sid=spec.twilio_account_sid,
                )
            with schema_context(slug):
                answering_services.answering_settings_create_defaults(client=client)
    except IntegrityError as exc:
        # Lost a race with a concurrent provision of the same slug, domain or number.
        raise ValidationError({"__all__": [f"Another change took one of these values first: {exc}"]}) from exc
    finally:
        connection.set_schema_to_public()
    logger.info("provisioned client %s (%s) on %s", client.name, slug, domain)
    return client


def client_provision_validate(
    *, name: str, slug: str, time_zone: str, languages, domain: str | None = None, numbers=()
) -> tuple[str, str, list[NumberSpec]]:
    """Check a provisioning request without writing; raise ValidationError (field → messages).

    Returns the normalised slug, domain and numbers (E.164).
    """
    slug = (slug or "").strip().lower()
    domain = (domain or f"{slug}.{settings.PLATFORM_DOMAIN}").strip().lower()
    errors = _Errors()
    if not (name or "").strip():
        errors.add("name", "A client needs a name.")
    if not SLUG_RE.match(slug):
        errors.add("slug", f"“{slug}” is not a valid slug: 2–40 lowercase letters and digits, starting with a letter.")
    elif slug in RESERVED_SLUGS or slug.startswith("pg"):
        errors.add("slug", f"“{slug}” is reserved.")
    elif Client.objects.filter(schema_name=slug).exists() or schema_exists(slug):
        errors.add("slug", f"The slug “{slug}” is taken.")
    errors.check("time_zone", validate_time_zone, time_zone)
    errors.check("languages", validate_languages, list(languages))
    if domain in settings.PLATFORM_HOSTS:
        errors.add("domain", f"“{domain}” is the platform's own host.")
    elif Domain.objects.filter(domain=domain).exists():
        errors.add("domain", f"The domain “{domain}” is taken.")
    parsed_numbers = _parse_numbers(numbers, errors)
    errors.raise_if_any()
    return slug, domain, parsed_numbers


def _parse_numbers(numbers, errors: _Errors) -> list[NumberSpec]:
    parsed: list[NumberSpec] = []
    seen: set[str] = set()
    for index, spec in enumerate(numbers, start=1):
        label = f"numbers[{index}]"
        try:
            e164 = to_e164(spec.number)
        except ValidationError as exc:
            errors.add(label, exc.messages[0])
            continue
        if spec.purpose not in PhoneNumber.Purpose.values:
            errors.add(label, f"Unknown purpose “{spec.purpose}”; use {', '.join(PhoneNumber.Purpose.values)}.")
            continue
        owner = PhoneNumber.objects.filter(number=e164).select_related("client").first()
        if owner is not None:
            errors.add(label, f"{e164} already belongs to {owner.client.name}.")
        elif e164 in seen:
            errors.add(label, f"{e164} is listed twice.")
        seen.add(e164)
        parsed.append(NumberSpec(e164, spec.purpose, spec.label, spec.twilio_sid, spec.twilio_account_sid))
    return parsed


# --- People ---------------------------------------------------------------------------

def user_create(
    *, email: str, role: str, password: str | None = None, full_name: str = "", client: Client | None = None
) -> User:
    """Create a user; the role decides whether a client is required (the database agrees)."""
    if role in (Role.CLIENT_ADMIN, Role.CLIENT_USER) and client is None:
        raise ValidationError({"client": ["Client roles belong to exactly one client."]})
    if role not in (Role.CLIENT_ADMIN, Role.CLIENT_USER) and client is not None:
        raise ValidationError({"client": ["Platform roles belong to no client."]})
    return User.objects.create_user(
        email, password, role=role, full_name=full_name, client=client,
        is_superuser=role == Role.PLATFORM_ADMIN,
    )


def agent_skills_set(
    *, user: User, clients: list[Client], languages: list[str], mode: str = AgentProfile.Mode.INBOUND, priority: int = 5
) -> AgentProfile:
    """Replace an agent's skills: the clients they serve, their languages and mode."""
    if not user.is_platform_user:
        raise ValidationError({"user": ["Only agents and supervisors have skills."]})
    validate_languages(languages)
    profile, _ = AgentProfile.objects.update_or_create(
        user=user, defaults={"languages": list(languages), "mode": mode, "priority": priority}
    )
    profile.clients.set(clients)
    return profile


# --- A client's own people (the portal's Users page) ---------------------------------

def user_invite(*, client: Client, email: str, invited_by: User, base_url: str, full_name: str = "",
                role: str = Role.CLIENT_USER, recordings_allowed: bool = False) -> User:
    """Invite someone to ``client``'s portal: an account with no usable password, and an email
    with a link to choose one (Django's password-reset token, so it expires and works once)
    on the client's own host, ``base_url`` (e.g. ``https://acme.example.com``).

    Someone this client removed earlier is brought back the same way. An email that already
    has an account elsewhere is refused with words that do not say where.
    """
    if not invited_by.may_edit_client_data(client) or invited_by.client_id != client.pk:
        raise ValidationError("Only this client's admins invite people.")
    if role not in (Role.CLIENT_ADMIN, Role.CLIENT_USER):
        raise ValidationError({"role": ["Invite a client user or a client admin."]})
    email = User.objects.normalize_email(email.strip()).lower()
    existing = User.objects.filter(email__iexact=email).first()
    with transaction.atomic():
        if existing is None:
            user = User.objects.create_user(email, None, role=role, full_name=full_name.strip(), client=client,
                                             recordings_allowed=recordings_allowed and role == Role.CLIENT_USER)
        elif existing.client_id == client.pk and not existing.is_active:
            user = existing
            user.is_active, user.role = True, role
            user.full_name = full_name.strip() or user.full_name
            user.recordings_allowed = recordings_allowed and role == Role.CLIENT_USER
            user.set_unusable_password()
            user.save()
        else:
            raise ValidationError({"email": ["That email address already has an account."]})
        transaction.on_commit(lambda: _invitation_send(user=user, client=client, invited_by=invited_by,
                                                       base_url=base_url))
    return user


def user_invitation_resend(*, user: User, client: Client, invited_by: User, base_url: str) -> None:
    """Send an invitation again (lost, expired, or in the spam folder), with a fresh link.

    Only to someone of this client who was invited and never chose a password: Django's
    password-reset form skips such accounts, so this is the only way back in for them.
    """
    if not invited_by.may_edit_client_data(client) or invited_by.client_id != client.pk:
        raise ValidationError("Only this client's admins invite people.")
    if user.client_id != client.pk or not user.is_active:
        raise ValidationError("That person is not an active user of this portal.")
    if user.has_usable_password():
        raise ValidationError(f"{user.email} has already chosen a password: they can reset it from the login page.")
    transaction.on_commit(lambda: _invitation_send(user=user, client=client, invited_by=invited_by,
                                                   base_url=base_url))


def _invitation_send(*, user: User, client: Client, invited_by: User, base_url: str) -> None:
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    context = {"user": user, "client": client, "invited_by": invited_by, "link": base_url.rstrip("/") + path}
    send_mail(subject=f"{invited_by} invited you to {client.name}'s messages on Switchboard",
              message=render_to_string("portal/email/invitation.txt", context),
              from_email=None, recipient_list=[user.email])


def user_deactivate(*, user: User, by: User) -> None:
    """Remove someone from their client's portal: they can no longer log in (the account and
    their name on past acknowledgements stay). Nobody removes themselves."""
    if user.pk == by.pk:
        raise ValidationError("You cannot remove yourself; ask another admin.")
    if user.client_id is None or user.client_id != by.client_id or not by.may_edit_client_data(by.client):
        raise ValidationError("Only this client's admins remove its people.")
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False


def user_recordings_allow(*, user: User, allowed: bool, by: User) -> None:
    """A client admin says whether a client user may hear call recordings (admins always may)."""
    if user.client_id is None or user.client_id != by.client_id or not by.may_edit_client_data(by.client):
        raise ValidationError("Only this client's admins decide who hears recordings.")
    User.objects.filter(pk=user.pk).update(recordings_allowed=allowed)
    user.recordings_allowed = allowed
