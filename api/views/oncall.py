"""On call: who is on call now for each team (and until when, and who is next), people, overrides."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from answering.models import Override, Person, Team
from answering.oncall import services as schedules
from api.models import Scope
from api.views.base import ApiListView, ApiView
from api.views.schema import PROBLEMS, problems
from portal.selectors import teams_on_call


class PersonOut(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "name", "email", "mobile", "phone", "active"]


class OverrideOut(serializers.ModelSerializer):
    person = PersonOut()

    class Meta:
        model = Override
        fields = ["id", "team", "person", "starts", "ends", "note", "created"]


class TeamOnCallOut(serializers.Serializer):
    id = serializers.IntegerField(source="team.pk")
    name = serializers.CharField(source="team.name")
    on_call = PersonOut(source="now", allow_null=True, help_text="Who is on call now; null: nobody.")
    source = serializers.ChoiceField(source="now_source", choices=["override", "rotation", "nobody"])
    until = serializers.DateTimeField(allow_null=True, help_text="When that changes.")
    next = PersonOut(allow_null=True, help_text="Who takes over then.")
    overrides = OverrideOut(many=True, help_text="Overrides now or to come.")


TEAM_EXAMPLE = {"id": 3, "name": "Technicians", "on_call": {"id": 5, "name": "Dana Tech", "email": "dana@example.com",
                                                            "mobile": "+12125550161", "phone": "+12125550162",
                                                            "active": True},
                "source": "rotation", "until": "2026-01-06T13:00:00Z", "next": None, "overrides": []}


def _team_on_call(request, team_pk: int | None = None):
    teams = teams_on_call(time_zone=request.tenant.time_zone)
    if team_pk is None:
        return teams
    return next((t for t in teams if t.team.pk == team_pk), None)


class TeamList(ApiView):
    required_scopes = (Scope.ONCALL_READ,)

    @extend_schema(operation_id="oncall_teams_list", tags=["oncall"], summary="Teams with who is on call now",
                   responses={200: TeamOnCallOut(many=True), **problems(401, 403, 429)},
                   examples=[OpenApiExample("Teams", value=[TEAM_EXAMPLE], response_only=True)])
    def get(self, request):
        return Response(TeamOnCallOut(_team_on_call(request), many=True).data)


class TeamDetail(ApiView):
    required_scopes = (Scope.ONCALL_READ,)

    @extend_schema(operation_id="oncall_teams_retrieve", tags=["oncall"], summary="Who is on call now for a team",
                   responses={200: TeamOnCallOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A team", value=TEAM_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        found = _team_on_call(request, get_object_or_404(Team, pk=pk).pk)
        return Response(TeamOnCallOut(found).data)


class PersonList(ApiListView):
    required_scopes = (Scope.ONCALL_READ,)
    serializer_class = PersonOut

    @extend_schema(operation_id="oncall_people_list", tags=["oncall"], summary="The people who receive messages",
                   parameters=[OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
                   responses={200: PersonOut(many=True), **problems(400, 401, 403, 429)})
    def get(self, request):
        return self.get_paginated_response(PersonOut(self.paginate_queryset(Person.objects.all()), many=True).data)


class OverrideFilters(serializers.Serializer):
    team = serializers.IntegerField(required=False, min_value=1)
    include_past = serializers.BooleanField(required=False, default=False)


class OverrideIn(serializers.Serializer):
    person = serializers.IntegerField(min_value=1, help_text="The person's id.")
    starts = serializers.DateTimeField()
    ends = serializers.DateTimeField()
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class OverrideList(ApiListView):
    required_scopes = (Scope.ONCALL_READ,)
    serializer_class = OverrideOut

    @extend_schema(operation_id="oncall_overrides_list", tags=["oncall"], summary="Overrides, now and to come",
                   parameters=[OverrideFilters, OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
                   responses={200: OverrideOut(many=True), **problems(400, 401, 403, 429)})
    def get(self, request):
        filters = OverrideFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = Override.objects.select_related("person")
        if team := filters.validated_data.get("team"):
            found = found.filter(team_id=team)
        if not filters.validated_data["include_past"]:
            found = found.filter(ends__gt=timezone.now())
        return self.get_paginated_response(OverrideOut(self.paginate_queryset(found), many=True).data)


class OverrideAdd(ApiView):
    required_scopes = (Scope.ONCALL_READ, Scope.ONCALL_WRITE)

    @extend_schema(
        operation_id="oncall_overrides_add", tags=["oncall"], summary="Someone covers a team for a while",
        request=OverrideIn, parameters=[PROBLEMS["idempotency"]],
        responses={201: OverrideOut, **problems(400, 401, 403, 404, 409, 422, 429)},
        examples=[OpenApiExample("Cover tonight", request_only=True, value={
            "person": 5, "starts": "2026-01-05T22:00:00-05:00", "ends": "2026-01-06T08:00:00-05:00",
            "note": "Dana's off sick"})])
    def post(self, request, pk: int):
        team = get_object_or_404(Team, pk=pk)
        data = OverrideIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        person = Person.objects.filter(pk=d["person"]).first()
        if person is None:
            raise serializers.ValidationError({"person": "No such person."})
        try:
            override = schedules.override_create(team=team, person=person, starts=d["starts"], ends=d["ends"],
                                                 note=d["note"])
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) \
                from exc
        return Response(OverrideOut(override).data, status=201)


class OverrideDelete(ApiView):
    required_scopes = (Scope.ONCALL_READ, Scope.ONCALL_WRITE)

    @extend_schema(operation_id="oncall_overrides_delete", tags=["oncall"], summary="Remove an override",
                   responses={204: None, **problems(401, 403, 404, 429)})
    def delete(self, request, pk: int):
        schedules.override_delete(override=get_object_or_404(Override, pk=pk))
        return Response(status=204)
