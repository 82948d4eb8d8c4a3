"""The client portal's pages, on the client's own host (urls_client), in its schema.

Thin: forms parse, selectors read, services change. Access: `portal_page` (the host's own
people, in the client's time zone); editors call `admin_only` before changing anything.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms.utils import pretty_name
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from answering.messages import display
from answering.messages.acknowledge import message_acknowledge, message_file
from answering.messages.selectors import message_timeline
from answering.models import CallRecord, DeliveryRule, EscalationPolicy, Message, Override, Person, Team
from answering.oncall import services as schedules
from answering.twilio import recordings
from portal import exports, forms, selectors
from portal.access import admin_only, is_client_admin, portal_page
from reports.figures import week_glance
from tenants import services as tenant_services
from tenants.models import User
from tenants.models.users import CLIENT_ROLES

PAGE_SIZE = 25


def _is_partial(request: HttpRequest) -> bool:
    return request.GET.get("partial") == "1"


def _with_count(response: HttpResponse) -> HttpResponse:
    # The live script refreshes the navigation's count from this header, with no extra request.
    response["X-Unacknowledged"] = str(selectors.unacknowledged_count())
    return response


# --- Messages ------------------------------------------------------------------------------

def _bad_dates(form) -> HttpResponse | None:
    """A filter's From or To that is no date, or past the days a filter may name: a 400 that
    says which and why (its other fields, when invalid, are ignored as before)."""
    if form.is_bound and not form.is_valid() and (problems := forms.form_errors_text(form, ("since", "until"))):
        return HttpResponse(f"Choose other dates: {problems}", status=400, content_type="text/plain; charset=utf-8")
    return None


@portal_page
def inbox(request: HttpRequest) -> HttpResponse:
    client = request.host_client
    form = forms.MessageFilterForm(request.GET or None, categories=selectors.message_categories())
    if refused := _bad_dates(form):
        return refused
    filters = form.filters()
    found = selectors.message_search(time_zone=client.time_zone, **filters)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for name in ("page", "partial"):
        query.pop(name, None)
    context = {"form": form, "page": page, "query": query.urlencode(), "active": "messages",
               "filtering": filters["box"] != "inbox" or any(filters[k] for k in ("urgency", "category", "state",
                                                                                    "since", "until")),
               "time_zone": client.time_zone}
    if _is_partial(request):
        return _with_count(render(request, "portal/_message_list.html", context))
    context["week"] = week_glance(client.time_zone)  # the client's week at a glance (reports/figures.py)
    return render(request, "portal/inbox.html", context)


def _message(pk: int) -> Message:
    # Looked up in the host's schema: another client's message id is not found here.
    return get_object_or_404(Message.objects.select_related("call", "script_version"), pk=pk)


@portal_page
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    context = {"message": message, "timeline": message_timeline(message), "active": "messages",
               "menu_text": display.menu_choice_label(message.call.menu_choice, display.menu_labels())
               if message.call and message.call.menu_choice else "",
               "deliveries": message.deliveries.select_related("person").order_by("round", "position", "pk"),
               "agent": selectors.agent_names([message.agent_id]).get(message.agent_id),
               "may_hear": request.user.may_hear_recordings(request.host_client),
               "simulated_audio": _simulated_audio()}
    if _is_partial(request):
        return _with_count(render(request, "portal/_message_live.html", context))
    return render(request, "portal/message.html", context)


@portal_page
@require_POST
def message_ack(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    user = request.user
    if message_acknowledge(message=message, by=f"{user.full_name} <{user.email}>" if user.full_name else user.email,
                           via="portal", client=request.host_client):
        flash.success(request, "Acknowledged: escalation stopped.")
    else:
        flash.info(request, "Someone had already acknowledged it.")
    return redirect("portal:message", pk=message.pk)


@portal_page
@require_POST
def message_file_view(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    filed = request.POST.get("filed", "1") == "1"
    message_file(message=message, filed=filed)
    flash.success(request, "Filed away." if filed else "Back in the inbox.")
    return redirect("portal:message", pk=message.pk)


@portal_page
def message_export(request: HttpRequest) -> HttpResponse:
    """The messages the inbox shows with the same filter (its search, urgency, box, dates...),
    all pages of them: the inbox's "Download CSV" carries its current filter here."""
    client = request.host_client
    form = forms.MessageFilterForm(request.GET or None, categories=selectors.message_categories())
    if refused := _bad_dates(form):
        return refused
    filters = form.filters()
    since, until = filters["since"], filters["until"]
    if since and until and until < since:
        return HttpResponse("Choose other dates: the range ends before it starts.", status=400,
                            content_type="text/plain; charset=utf-8")
    found = selectors.message_search(time_zone=client.time_zone, **filters)
    span = (f"{since or 'start'}-to-{until or timezone.localdate()}" if since or until
            else f"{filters['box']}-{timezone.localdate()}")
    return exports.messages_csv_response(found, time_zone=client.time_zone,
                                         filename=f"{client.schema_name}-messages-{span}.csv")


@portal_page
def message_recording(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    sid, url, duration = message.recording_sid, "", None
    if message.call is not None:
        sid = sid or message.call.recording_sid
        url, duration = message.call.recording_url, message.call.recording_duration
    return _recording_response(request, sid=sid, url=url, duration=duration)


# --- Calls ---------------------------------------------------------------------------------

@portal_page
def call_log(request: HttpRequest) -> HttpResponse:
    client = request.host_client
    form = forms.CallFilterForm(request.GET or None)
    if refused := _bad_dates(form):
        return refused
    page = Paginator(selectors.call_search(time_zone=client.time_zone, **form.filters()), PAGE_SIZE) \
        .get_page(request.GET.get("page"))
    names = selectors.agent_names(c.agent_id for c in page)
    labels = display.menu_labels()
    for call in page:
        call.agent_name = names.get(call.agent_id, "")
        call.menu_text = display.menu_choice_label(call.menu_choice, labels)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/calls.html", {
        "form": form, "page": page, "query": query.urlencode(), "active": "calls", "time_zone": client.time_zone,
        "may_hear": request.user.may_hear_recordings(client), "simulated_audio": _simulated_audio()})


@portal_page
def call_recording(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(CallRecord, pk=pk)
    return _recording_response(request, sid=call.recording_sid, url=call.recording_url,
                               duration=call.recording_duration)


def _simulated_audio() -> bool:
    return settings.TWILIO_MODE == "simulate"


def _recording_response(request: HttpRequest, *, sid: str, url: str, duration: int | None) -> HttpResponse:
    if not request.user.may_hear_recordings(request.host_client):
        return HttpResponse("Your admin has not allowed you to hear recordings.", status=403,
                            content_type="text/plain; charset=utf-8")
    if not (sid or url):
        raise Http404("No recording.")
    try:
        audio = recordings.recording_audio(sid=sid, url=url, duration=duration,
                                           byte_range=request.headers.get("Range", ""))
    except recordings.RecordingUnavailable as exc:
        return HttpResponse(str(exc), status=502, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(audio.chunks, content_type=audio.content_type,
                                     status=206 if audio.content_range else 200)
    if audio.length is not None:
        response["Content-Length"] = str(audio.length)
    if audio.content_range:
        response["Content-Range"] = audio.content_range
    if not audio.simulated:
        response["Accept-Ranges"] = "bytes"  # players may seek: ranges are passed on to Twilio
    if audio.simulated:
        response["X-Switchboard-Simulated"] = "no audio in simulation: silence"
    # Personal data: never kept by a shared cache or the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


# --- On call -------------------------------------------------------------------------------

@portal_page
def oncall(request: HttpRequest) -> HttpResponse:
    client = request.host_client
    team_form = forms.TeamForm(request.POST or None)
    if request.method == "POST":
        admin_only(request)
        if team_form.is_valid():
            try:
                team = schedules.team_create(name=team_form.cleaned_data["name"])
            except ValidationError as exc:
                team_form.add_error(None, exc)
            else:
                flash.success(request, f"Team {team} added; now give it a rotation.")
                return redirect("portal:rotation", pk=team.pk)
    return render(request, "portal/oncall.html", {
        "teams": selectors.teams_on_call(time_zone=client.time_zone), "people": Person.objects.all(),
        "team_form": team_form, "active": "oncall", "time_zone": client.time_zone})


@portal_page
def person_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None:
        admin_only(request)  # adding someone is a change; reading a person is not
    person = get_object_or_404(Person, pk=pk) if pk else None
    initial = ({f: getattr(person, f) for f in ("name", "email", "mobile", "phone", "webhook_url", "active")}
               if person else None)
    form = forms.PersonForm(request.POST or None, initial=initial)
    if request.method == "POST":
        admin_only(request)
        if form.is_valid():
            try:
                saved = schedules.person_save(person=person, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                flash.success(request, f"{saved} saved.")
                return redirect("portal:oncall")
    return render(request, "portal/person.html", {"form": form, "person": person, "active": "oncall"})


@portal_page
def rotation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    rotation = getattr(team, "rotation", None)  # a reverse one-to-one: AttributeError when missing
    initial = None
    if rotation:
        initial = {"period": rotation.period, "handover_time": rotation.handover_time, "starts_on": rotation.starts_on,
                   **{f"member_{m.position}": m.person_id for m in rotation.members.all()}}
    form = forms.RotationForm(request.POST or None, initial=initial)
    override_form = forms.OverrideForm()
    if request.method == "POST":
        admin_only(request)
        if form.is_valid():
            try:
                schedules.rotation_set(team=team, period=form.cleaned_data["period"],
                                       handover_time=form.cleaned_data["handover_time"],
                                       starts_on=form.cleaned_data["starts_on"], members=form.members())
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, f"Rotation of {team} saved.")
                return redirect("portal:oncall")
    return _rotation_page(request, team, form, override_form)


def _rotation_page(request, team, form, override_form) -> HttpResponse:
    on_call = next((t for t in selectors.teams_on_call(time_zone=request.host_client.time_zone) if t.team.pk == team.pk),
                   None)
    return render(request, "portal/rotation.html", {
        "team": team, "rotation": getattr(team, "rotation", None), "form": form, "override_form": override_form,
        "on_call": on_call, "active": "oncall",
        "time_zone": request.host_client.time_zone})


@portal_page
@require_POST
def override_add(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    team = get_object_or_404(Team, pk=pk)
    override_form = forms.OverrideForm(request.POST)
    if override_form.is_valid():
        data = override_form.cleaned_data
        try:
            schedules.override_create(team=team, person=data["person"], starts=data["starts"], ends=data["ends"],
                                      note=data["note"])
        except ValidationError as exc:
            _add_errors(override_form, exc)
        else:
            flash.success(request, f"{data['person']} covers {team} from {display.time_text(data['starts'])} "
                                   f"to {display.time_text(data['ends'])}.")
            return redirect("portal:rotation", pk=team.pk)
    rotation_form = forms.RotationForm(initial=None)
    return _rotation_page(request, team, rotation_form, override_form)


@portal_page
@require_POST
def override_delete(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    override = get_object_or_404(Override, pk=pk)
    team_pk = override.team_id
    schedules.override_delete(override=override)
    flash.success(request, "Override removed.")
    return redirect("portal:rotation", pk=team_pk)


def _add_errors(form, exc: ValidationError) -> None:
    """Service errors onto the form: by field when the form has it, else at the top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- Escalation policies and delivery rules ------------------------------------------------

@portal_page
def policies(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/policies.html", {
        "policies": EscalationPolicy.objects.prefetch_related("steps__person", "steps__team"),
        "rules": DeliveryRule.objects.select_related("policy"), "active": "policies"})


@portal_page
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None:
        admin_only(request)
    policy = get_object_or_404(EscalationPolicy, pk=pk) if pk else None
    initial = ({"name": policy.name, "repeat": policy.repeat, "needs_acknowledgement": policy.needs_acknowledgement,
                "alert_supervisors": policy.alert_supervisors} if policy else None)
    steps_initial = [{"channel": s.channel, "target": s.target, "person": s.person_id, "team": s.team_id,
                      "wait_minutes": s.wait_minutes} for s in policy.steps.all()] if policy else []
    form = forms.PolicyForm(request.POST or None, initial=initial)
    steps = forms.StepFormSet(request.POST or None, initial=steps_initial, prefix="steps")
    problems: list[str] = []
    if request.method == "POST":
        admin_only(request)
        if form.is_valid() and steps.is_valid():
            specs = [schedules.StepSpec(channel=s["channel"], target=s["target"], person=s.get("person"),
                                        team=s.get("team"), wait_minutes=s.get("wait_minutes") or 0)
                     for s in steps.cleaned_data if s.get("channel")]
            try:
                saved = schedules.policy_save(policy=policy, steps=specs, **form.cleaned_data)
            except ValidationError as exc:
                problems = exc.messages
            else:
                flash.success(request, f"Policy “{saved}” saved.")
                return redirect("portal:policies")
    return render(request, "portal/policy.html", {"form": form, "steps": steps, "policy": policy,
                                                  "problems": problems, "active": "policies"})


@portal_page
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    policy = get_object_or_404(EscalationPolicy, pk=pk)
    try:
        schedules.policy_delete(policy=policy)
    except ValidationError as exc:
        flash.error(request, exc.messages[0])
    else:
        flash.success(request, f"Policy “{policy.name}” deleted.")
    return redirect("portal:policies")


@portal_page
def rules_edit(request: HttpRequest) -> HttpResponse:
    initial = [{"position": r.position, "urgency": r.urgency, "category": r.category, "when": r.when,
                "policy": r.policy_id} for r in DeliveryRule.objects.all()]
    formset = forms.RuleFormSet(request.POST or None, initial=initial, prefix="rules")
    problems: list[str] = []
    if request.method == "POST":
        admin_only(request)
        if formset.is_valid():
            rows = [(row.get("position") if row.get("position") is not None else 10_000 + i, i, row)
                    for i, row in enumerate(formset.cleaned_data)
                    if row and not row.get("delete") and (row.get("policy") or row.get("urgency") or row.get("category"))]
            specs = [schedules.RuleSpec(policy=row.get("policy"), urgency=row.get("urgency") or "",
                                        category=row.get("category") or "", when=row.get("when") or "any")
                     for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]
            try:
                schedules.rules_replace(rules=specs)
            except ValidationError as exc:
                problems = exc.messages
            else:
                flash.success(request, "Delivery rules saved.")
                return redirect("portal:policies")
        else:
            # The page shows no per-field errors, and a tampered management form has only a
            # formset-wide one: list them all, naming the row, so a refusal never looks like nothing.
            problems = list(formset.non_form_errors())
            for i, form in enumerate(formset.forms, 1):
                for name, messages in form.errors.items():
                    field = form.fields.get(name)
                    where = f"Rule {i}: {field.label or pretty_name(name)}" if field else f"Rule {i}"
                    problems.extend(f"{where}: {message}" for message in messages)
    return render(request, "portal/rules.html", {"formset": formset, "problems": problems, "active": "policies",
                                                 "rules": DeliveryRule.objects.select_related("policy")})


# --- People of the client ------------------------------------------------------------------

@portal_page
def users(request: HttpRequest) -> HttpResponse:
    client = request.host_client
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST":
        admin_only(request)
        if form.is_valid():
            try:
                invited = tenant_services.user_invite(client=client, invited_by=request.user,
                                                      base_url=f"{request.scheme}://{request.get_host()}",
                                                      **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, f"Invitation sent to {invited.email}.")
                return redirect("portal:users")
    people = User.objects.filter(client=client, role__in=CLIENT_ROLES).order_by("-is_active", "email")
    return render(request, "portal/users.html", {"form": form, "people": people, "active": "users",
                                                 "is_admin": is_client_admin(request)})


def _client_user(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(User, pk=pk, client=request.host_client)


@portal_page
@require_POST
def user_remove(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    person = _client_user(request, pk)
    try:
        tenant_services.user_deactivate(user=person, by=request.user)
    except ValidationError as exc:
        flash.error(request, exc.messages[0])
    else:
        flash.success(request, f"{person.email} removed: they can no longer log in.")
    return redirect("portal:users")


@portal_page
@require_POST
def user_invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    person = _client_user(request, pk)
    try:
        tenant_services.user_invitation_resend(user=person, client=request.host_client, invited_by=request.user,
                                               base_url=f"{request.scheme}://{request.get_host()}")
    except ValidationError as exc:
        flash.error(request, exc.messages[0])
    else:
        flash.success(request, f"Invitation sent to {person.email} again, with a new link.")
    return redirect("portal:users")


@portal_page
@require_POST
def user_recordings(request: HttpRequest, pk: int) -> HttpResponse:
    admin_only(request)
    person = _client_user(request, pk)
    allowed = request.POST.get("allowed") == "1"
    tenant_services.user_recordings_allow(user=person, allowed=allowed, by=request.user)
    flash.success(request, f"{person.email} {'may now' if allowed else 'may no longer'} hear recordings.")
    return redirect("portal:users")
