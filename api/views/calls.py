"""Calls: list (outcome, timings, ETag), one, and the recording for keys allowed to hear them."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from answering.models import CallRecord
from answering.twilio import recordings
from api import etag
from api.errors import Problem
from api.models import Scope
from api.views.base import ApiListView, ApiView
from api.views.schema import POLLED_PAGE_PARAMETERS, problems
from portal.selectors import call_search


class CallOut(serializers.ModelSerializer):
    messages = serializers.SerializerMethodField(help_text="Ids of the messages taken on the call.")
    has_recording = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField(
        help_text="Where to fetch the recording with this key; null without the recordings:read scope or a recording.")

    class Meta:
        model = CallRecord
        fields = ["id", "call_sid", "caller", "number_dialed", "language", "menu_choice", "outcome", "disposition",
                  "caller_hung_up", "arrived_at", "queued_at", "offered_at", "answered_at", "ended_at",
                  "wait_seconds", "talk_seconds", "wrap_up_seconds", "has_recording", "recording_duration",
                  "recording_url", "messages"]

    def get_messages(self, call: CallRecord) -> list[int]:
        return [m.pk for m in call.messages.all()]

    def get_has_recording(self, call: CallRecord) -> bool:
        return bool(call.recording_sid or call.recording_url)

    def get_recording_url(self, call: CallRecord) -> str | None:
        request = self.context["request"]
        if not self.get_has_recording(call) or Scope.RECORDINGS_READ not in request.auth.scopes:
            return None
        return request.build_absolute_uri(f"/api/v1/calls/{call.pk}/recording")


class CallFilters(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CallRecord.Outcome.choices, required=False)
    since = serializers.DateField(required=False, help_text="From this day (the client's time zone), inclusive.")
    until = serializers.DateField(required=False, help_text="To this day (the client's time zone), inclusive.")
    q = serializers.CharField(required=False, max_length=40, help_text="Digits of the caller's number.")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": "The range ends before it starts."})
        return data


CALL_EXAMPLE = {
    "id": 17, "call_sid": "CA0123456789abcdef0123456789abcdef", "caller": "+12125550147",
    "number_dialed": "+12125550101", "language": "en", "menu_choice": "1", "outcome": "answered",
    "disposition": "", "caller_hung_up": False, "arrived_at": "2026-01-05T03:10:01Z",
    "queued_at": "2026-01-05T03:10:09Z", "offered_at": "2026-01-05T03:10:10Z", "answered_at": "2026-01-05T03:10:14Z",
    "ended_at": "2026-01-05T03:12:09Z", "wait_seconds": 5, "talk_seconds": 115, "wrap_up_seconds": 20,
    "has_recording": True, "recording_duration": 115,
    "recording_url": "https://northside.example/api/v1/calls/17/recording", "messages": [42]}


class CallList(ApiListView):
    required_scopes = (Scope.CALLS_READ,)
    serializer_class = CallOut

    @extend_schema(
        operation_id="calls_list", tags=["calls"], summary="List calls, newest first",
        parameters=[CallFilters, *POLLED_PAGE_PARAMETERS],
        responses={200: CallOut(many=True), 304: None, **problems(400, 401, 403, 429)},
        examples=[OpenApiExample("A page", value=CALL_EXAMPLE,
                                 response_only=True)])
    def get(self, request):
        filters = CallFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = call_search(time_zone=request.tenant.time_zone, **filters.validated_data)
        page = self.paginate_queryset(found)
        data = CallOut(page, many=True, context={"request": request}).data
        # A call record changes without one column that always moves (a recording arrives after
        # the call ended), so its tag is the answer's own: it saves the transfer, not the query.
        response = self.get_paginated_response(data)
        tag = etag.body_etag(response.data, request=request)
        if etag.matches(request, tag):
            return etag.not_modified(tag)
        response["ETag"] = tag
        return response


class CallDetail(ApiView):
    required_scopes = (Scope.CALLS_READ,)

    @extend_schema(operation_id="calls_retrieve", tags=["calls"], summary="One call",
                   responses={200: CallOut, **problems(401, 403, 404, 429)},
                   examples=[OpenApiExample("A call", value=CALL_EXAMPLE, response_only=True)])
    def get(self, request, pk: int):
        call = get_object_or_404(CallRecord.objects.prefetch_related("messages"), pk=pk)
        return Response(CallOut(call, context={"request": request}).data)


_AUDIO = OpenApiResponse(OpenApiTypes.BINARY, description="The audio (or the part asked for by Range)")


class CallRecording(ApiView):
    required_scopes = (Scope.CALLS_READ, Scope.RECORDINGS_READ)

    @extend_schema(
        operation_id="calls_recording", tags=["calls"], summary="A call's recording (audio)",
        description="The audio, streamed (MP3; in simulation, silence as WAV). Send `Range` to seek.",
        responses={(200, "audio/mpeg"): _AUDIO, (200, "audio/wav"): _AUDIO, (206, "audio/mpeg"): _AUDIO,
                   **problems(401, 403, 404, 429, 502)})
    def get(self, request, pk: int):
        call = get_object_or_404(CallRecord, pk=pk)
        if not (call.recording_sid or call.recording_url):
            raise Problem(404, "not-found", "No recording", "This call has no recording.")
        try:
            audio = recordings.recording_audio(sid=call.recording_sid, url=call.recording_url,
                                               duration=call.recording_duration,
                                               byte_range=request.headers.get("Range", ""))
        except recordings.RecordingUnavailable as exc:
            raise Problem(502, "recording-unavailable", "Recording unavailable", str(exc)) from exc
        response = StreamingHttpResponse(audio.chunks, content_type=audio.content_type,
                                         status=206 if audio.content_range else 200)
        if audio.length is not None:
            response["Content-Length"] = str(audio.length)
        if audio.content_range:
            response["Content-Range"] = audio.content_range
        response["Cache-Control"] = "private, no-store"  # personal data: no shared cache keeps it
        return response
