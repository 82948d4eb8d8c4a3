"""Client-data admin: the script editor (one page per script, validated whole, published as a version)."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from answering.models import (
    Script,
    ScriptBranch,
    ScriptField,
    ScriptStep,
    ScriptVersion,
)
from answering.scripts.definition import script_normalize
from answering.scripts.rendering import ScriptContext, script_render
from answering.scripts.selectors import current_client_appointment_types, script_menu_conflicts
from answering.scripts.services import script_export_json, script_import_json, script_publish
from answering.scripts.validation import MAX_DOCUMENT_CHARS, Problem, ScriptInvalid, script_validate
from switchboard.admin_sites import (
    ClientDataInline,
    ClientDataModelAdmin,
    client_data_admin,
)
from tenants.models.clients import LANGUAGES

# A script is edited on one page: its steps (what the agent says, one box per language of
# the client), the fields each step captures and the branches taken on answers, as ordered
# inlines. The whole page is checked as one script by ``script_validate`` before anything
# is saved, and a valid save publishes a new version (earlier versions stay as they were).


LANGUAGE_LABELS = dict(LANGUAGES)
SAMPLE_CALLER = "+12125550100"


def _edit_stash(request) -> dict:
    """The forms of one script edit, so the last formset can check the script as a whole."""
    return request.__dict__.setdefault("_script_edit", {})


class _StashedFormSet(BaseInlineFormSet):
    kind = ""
    stash: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stash[self.kind] = self

    def live_rows(self) -> list[dict]:
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        return sorted(rows, key=lambda row: row.get("position") or 0)


class StepFormSet(_StashedFormSet):
    kind = "steps"


class FieldFormSet(_StashedFormSet):
    kind = "fields"


class BranchFormSet(_StashedFormSet):
    """The last inline: once every form on the page is valid, check the script as a whole."""

    kind = "branches"
    languages: list[str] = []
    script_problems: list = []

    def clean(self):
        super().clean()
        main, steps, fields = self.stash.get("form"), self.stash.get("steps"), self.stash.get("fields")
        if main is None or steps is None or fields is None:
            return
        if not (main.is_valid() and steps.is_valid() and fields.is_valid()) or any(self.errors):
            return  # their own errors say what is wrong first
        definition, problems = _definition_from_forms(main.cleaned_data, steps.live_rows(), fields.live_rows(),
                                                      self.live_rows(), self.languages)
        problems += script_validate(definition=definition, languages=self.languages,
                                    appointment_types=current_client_appointment_types())
        if not problems:
            d = script_normalize(definition)
            problems += script_menu_conflicts(key=main.instance.key if main.instance.pk else d["key"],
                                                              used_for=d["used_for"], is_default=d["is_default"])
        if problems:
            self.script_problems = problems
            raise ValidationError([str(p) for p in problems])


def _definition_from_forms(script: dict, steps: list[dict], fields: list[dict], branches: list[dict],
                           languages: list[str]) -> tuple[dict, list]:
    keys = [s["key"] for s in steps]
    problems = [Problem(f"the field “{f['name']}” is on step “{f['step_key']}”, which does not exist.", f["step_key"])
                for f in fields if f["step_key"] not in keys]
    problems += [Problem(f"a branch leaves from step “{b['step_key']}”, which does not exist.", b["step_key"])
                 for b in branches if b["step_key"] not in keys]
    definition = {
        "key": script["key"], "name": script["name"], "description": script.get("description") or "",
        "used_for": list(script.get("used_for") or []), "is_default": bool(script.get("is_default")),
        "steps": [{
            "key": s["key"], "kind": s.get("kind") or "question",
            "appointment_types": [t for t in (s.get("appointment_types") or []) if t],
            "say": {lang: s.get(f"say_{lang}") or "" for lang in languages if s.get(f"say_{lang}")}
            | {lang: text for lang, text in (s.get("say") or {}).items() if lang not in languages},
            "fields": [{"name": f["name"], "label": f["label"], "type": f["type"], "required": f["required"],
                        "options": list(f.get("options") or []), "min": _number(f.get("min_value")),
                        "max": _number(f.get("max_value")), "max_length": f.get("max_length")}
                       for f in fields if f["step_key"] == s["key"]],
            "branches": [{"field": b["field_name"], "equals": b["equals"], "goto": b["goto_step"]}
                         for b in branches if b["step_key"] == s["key"]],
            "next": s.get("next_step") or None,
            "end": {"action": s["end_action"], "urgency": s.get("end_urgency") or "",
                    "category": s.get("end_category") or "", "transfer_to": s.get("transfer_to") or ""}
            if s.get("end_action") else None,
        } for s in steps],
    }
    return definition, problems


def _number(value):
    """A form's Decimal as the JSON number the definition holds."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _step_form(languages: list[str]) -> type[forms.ModelForm]:
    """A step form with one text box per language of the client, kept in ``ScriptStep.say``."""
    declared = {
        f"say_{lang}": forms.CharField(
            label=f"Agent says ({LANGUAGE_LABELS.get(lang, lang)})", required=False,
            widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
            help_text="Merge fields: {client_name}, {caller_number}, {agent_first_name}, {greeting_time}."
            if i == 0 else "",
        )
        for i, lang in enumerate(languages)
    }

    def __init__(self, *args, **kwargs):
        forms.ModelForm.__init__(self, *args, **kwargs)
        for lang in languages:
            self.fields[f"say_{lang}"].initial = (self.instance.say or {}).get(lang, "")

    def clean(self):
        cleaned = forms.ModelForm.clean(self)
        # Languages the client no longer offers keep their text; the client's own are the boxes.
        say = {k: v for k, v in (self.instance.say or {}).items() if k not in languages}
        say |= {lang: cleaned.get(f"say_{lang}", "").strip() for lang in languages if cleaned.get(f"say_{lang}")}
        cleaned["say"] = say
        self.instance.say = say
        return cleaned

    return type("ScriptStepForm", (forms.ModelForm,), {
        **declared, "__init__": __init__, "clean": clean, "__module__": __name__,
        "Meta": type("Meta", (), {"model": ScriptStep, "exclude": ["say"]}),
    })


class ScriptStepInline(ClientDataInline, admin.StackedInline):
    model = ScriptStep
    extra = 0
    formset = StepFormSet
    verbose_name = "step"
    verbose_name_plural = "steps (the first one starts the call; a step ends the script or goes on)"

    def get_formset(self, request, obj=None, **kwargs):
        languages = list(request.tenant.languages)
        kwargs["form"] = _step_form(languages)
        kwargs["fields"] = ["position", "key", "kind", "appointment_types", *(f"say_{lang}" for lang in languages),
                            "next_step", "end_action",
                            "end_urgency", "end_category", "transfer_to"]
        formset = super().get_formset(request, obj, **kwargs)
        return type("ScriptStepFormSet", (formset,), {"stash": _edit_stash(request)})

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj and obj.steps.exists() else 2


class ScriptFieldInline(ClientDataInline, admin.TabularInline):
    model = ScriptField
    formset = FieldFormSet
    fields = ("step_key", "position", "name", "label", "type", "required", "options", "min_value", "max_value",
              "max_length")
    verbose_name_plural = "fields to capture (on the step named in the first column)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type("ScriptFieldFormSet", (formset,), {"stash": _edit_stash(request)})

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj and obj.fields.exists() else 3


class ScriptBranchInline(ClientDataInline, admin.TabularInline):
    model = ScriptBranch
    formset = BranchFormSet
    fields = ("step_key", "position", "field_name", "equals", "goto_step")
    verbose_name_plural = "branches (on a step: when the answer to a field equals a value, go to a step)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type("ScriptBranchFormSet", (formset,), {"stash": _edit_stash(request),
                                                        "languages": list(request.tenant.languages)})

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj and obj.branches.exists() else 2


class ScriptVersionInline(ClientDataInline, admin.TabularInline):
    model = ScriptVersion
    fields = ("number", "published_at", "published_by_id", "checksum")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "published versions (calls keep the version they used)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScriptForm(forms.ModelForm):
    class Meta:
        model = Script
        fields = ["name", "key", "description", "used_for", "is_default"]


@admin.register(Script, site=client_data_admin)
class ScriptAdmin(ClientDataModelAdmin):
    form = ScriptForm
    list_display = ("name", "key", "used_for", "is_default", "current_version")
    search_fields = ("name", "key")
    readonly_fields = ("published",)
    fieldsets = (
        (None, {"fields": ("name", "key", "description", "used_for", "is_default")}),
        ("Published", {"fields": ("published",)}),
    )
    # The branches come last: their formset checks the whole page as one script.
    inlines = [ScriptStepInline, ScriptFieldInline, ScriptBranchInline, ScriptVersionInline]
    change_form_template = "admin/answering/script/change_form.html"
    change_list_template = "admin/answering/script/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        stash = _edit_stash(request)

        def __init__(self, *args, **kw):
            form.__init__(self, *args, **kw)
            stash["form"] = self

        return type("StashedScriptForm", (form,), {"__init__": __init__})

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        script = form.instance
        previous = script.current_version_id
        version = script_publish(script=script, by=request.user,
                                                 languages=list(request.tenant.languages))
        if version.pk != previous:
            messages.success(request, f"Published version {version.number} of “{script.name}”; calls already "
                                      "guided by earlier versions keep theirs.")

    @admin.display(description="Current version")
    def published(self, obj):
        if not obj or not obj.current_version_id:
            return "Not published yet: save a valid script to publish it."
        version = obj.current_version
        export = reverse(f"{self.admin_site.name}:answering_script_export", args=[obj.pk])
        return format_html('Version {} of {}, published {}. <a href="{}">Export as JSON</a>', version.number,
                           obj.versions.count(), timezone.localtime(version.published_at).strftime("%Y-%m-%d %H:%M"),
                           export)

    def preview(self, request, obj: Script | None) -> str:
        """The current version rendered as the agent will see it, in each of the client's languages."""
        if not obj or not obj.current_version_id:
            return ""
        client = request.tenant
        context = ScriptContext(
            client_name=client.name, time_zone=client.time_zone, caller_number=SAMPLE_CALLER,
            agent_first_name=request.user.first_name,
        )
        renders = [script_render(version=obj.current_version, language=lang, context=context)
                   for lang in client.languages]
        return render_to_string("admin/answering/script/preview.html", {
            "renders": [(LANGUAGE_LABELS.get(r.language, r.language), r) for r in renders],
            "version": obj.current_version, "sample_caller": SAMPLE_CALLER,
        })

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "script_preview": self.preview(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.admin_site.admin_view
        return [
            path("import/", info(self.import_view), name="answering_script_import"),
            path("<int:pk>/export/", info(self.export_view), name="answering_script_export"),
            *super().get_urls(),
        ]

    def export_view(self, request, pk: int):
        script = Script.objects.filter(pk=pk).first()
        if script is None or not self.has_view_permission(request, script):
            return redirect(reverse(f"{self.admin_site.name}:answering_script_changelist"))
        body = json.dumps(script_export_json(script=script), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="script-{script.key}.json"'
        return response

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        request.current_app = self.admin_site.name
        problems, text = [], ""
        if request.method == "POST":
            upload = request.FILES.get("file")
            try:
                if upload and upload.size > MAX_DOCUMENT_CHARS:  # refused before it is read into memory
                    raise ScriptInvalid([Problem(f"The file is {upload.size:,} bytes; a script is at most "
                                                 f"{MAX_DOCUMENT_CHARS:,}.")])
                text = upload.read().decode("utf-8", errors="replace") if upload else request.POST.get("document", "")
                script = script_import_json(data=text, by=request.user,
                                                            languages=list(request.tenant.languages))
            except ScriptInvalid as exc:
                problems = exc.problems
                text = text[:MAX_DOCUMENT_CHARS]
            else:
                messages.success(request, f"Imported “{script.name}” (version {script.current_version.number}).")
                return redirect(reverse(f"{self.admin_site.name}:answering_script_change", args=[script.pk]))
        return TemplateResponse(request, "admin/answering/script/import.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Import a script (JSON)",
            "problems": problems, "document": text,
        })
