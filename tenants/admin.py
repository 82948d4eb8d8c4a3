"""The platform admin (platform host): clients with their domains and numbers, users and skills."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from switchboard.admin_sites import RefusingFiltersMixin
from tenants import services
from tenants.models import AgentProfile, Client, Domain, PhoneNumber, User
from tenants.models.clients import LANGUAGES

admin.site.site_header = "Switchboard platform"
admin.site.site_title = "Switchboard"


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0
    fields = ("number", "purpose", "label", "twilio_sid", "twilio_account_sid")


class ClientProvisionForm(forms.ModelForm):
    """Adding a client provisions it (schema, domain, numbers, defaults) in one go."""

    slug = forms.SlugField(help_text="Schema name and portal host label: lowercase letters and digits.")
    languages = forms.MultipleChoiceField(choices=LANGUAGES, initial=["en"])
    domain = forms.CharField(required=False, help_text="Leave empty for <slug>.<platform domain>.")
    numbers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Answering numbers, one per line (E.164 or national format).",
    )

    class Meta:
        model = Client
        fields = ("name", "time_zone")

    def clean(self):
        data = super().clean()
        numbers = [services.NumberSpec(line.strip()) for line in data.get("numbers", "").splitlines() if line.strip()]
        try:
            _, _, self.parsed_numbers = services.client_provision_validate(
                name=data.get("name", ""), slug=data.get("slug", ""), time_zone=data.get("time_zone", ""),
                languages=data.get("languages", []), domain=data.get("domain"), numbers=numbers,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                target = field if field in self.fields else ("numbers" if field.startswith("numbers") else None)
                for message in messages:
                    self.add_error(target, message)
        return data


@admin.register(Client)
class ClientAdmin(RefusingFiltersMixin, admin.ModelAdmin):
    list_display = ("name", "schema_name", "status", "time_zone", "portal", "numbers", "client_data")
    list_filter = ("status",)
    search_fields = ("name", "schema_name", "domains__domain", "phone_numbers__number")
    readonly_fields = ("schema_name", "created")
    fields = ("name", "schema_name", "time_zone", "languages", "status", "created")
    inlines = [DomainInline, PhoneNumberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains", "phone_numbers")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ClientProvisionForm
            kwargs["fields"] = ("name", "slug", "time_zone", "languages", "domain", "numbers")
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "slug", "time_zone", "languages", "domain", "numbers")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        client = services.client_provision(
            name=data["name"], slug=data["slug"], time_zone=data["time_zone"], languages=data["languages"],
            domain=data.get("domain"), numbers=form.parsed_numbers,
        )
        # The admin goes on with `obj` (its log entry, the redirect): make it the saved client.
        obj.__dict__.update(client.__dict__)

    @admin.display(description="Portal")
    def portal(self, obj: Client) -> str:
        domain = next((d for d in obj.domains.all() if d.is_primary), None)
        return domain.domain if domain else "—"

    @admin.display(description="Numbers")
    def numbers(self, obj: Client) -> str:
        return ", ".join(p.number for p in obj.phone_numbers.all()) or "—"

    @admin.display(description="Client data")
    def client_data(self, obj: Client) -> str:
        return format_html('<a href="/clients/{}/admin/">Edit {}’s data →</a>', obj.schema_name, obj.name)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(RefusingFiltersMixin, admin.ModelAdmin):
    list_display = ("number", "client", "purpose", "label", "twilio_sid")
    list_filter = ("purpose", "client")
    search_fields = ("number", "client__name", "twilio_sid")
    autocomplete_fields = ("client",)


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = True
    filter_horizontal = ("clients",)
    verbose_name_plural = "Skills (agents and supervisors)"


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "role", "client")


class UserChange(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(RefusingFiltersMixin, BaseUserAdmin):
    add_form = UserCreateForm
    form = UserChange
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "client", "is_active", "last_login")
    list_filter = ("role", "is_active", "client")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Who", {"fields": ("full_name", "role", "client", "is_active", "recordings_allowed")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "role", "client", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()
    inlines = [AgentProfileInline]

    def save_model(self, request, obj, form, change):
        obj.is_superuser = obj.role == "platform_admin"
        super().save_model(request, obj, form, change)
