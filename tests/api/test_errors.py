"""One error shape everywhere under /api/: unknown paths, wrong methods, malformed JSON, and a crash."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_an_unknown_path_under_api_is_a_404_problem(bob_api):
    for path in ("/api/v1/nothing", "/api/v2/messages", "/api/"):
        response = bob_api.get(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, path
        assert problem(response)["instance"] == path


def test_a_wrong_method_is_a_405_problem(bob_api):
    response = bob_api.delete("/api/v1/messages")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    problem(response)


def test_malformed_json_is_a_400_problem(bob_api):
    response = bob_api.http.post("/api/v1/dnc/add", "{not json", content_type="application/json",
                                 headers=bob_api.headers)
    assert response.status_code == HTTPStatus.BAD_REQUEST and "JSON" in problem(response)["detail"]


def test_a_crash_is_a_500_problem_with_no_trace(bob_api, monkeypatch, caplog):
    from api.views import messages

    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(messages, "message_search", explode)
    response = bob_api.get("/api/v1/messages")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert b"secret internals" not in response.content and problem(response)["status"] == 500
    assert "secret internals" in caplog.text  # logged for us


def test_the_rate_limit_is_a_429_problem_with_retry_after(bob_api, settings):
    settings.API_RATE_PER_KEY_PER_MINUTE = 3
    codes = [bob_api.get("/api/v1/oncall/people").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = bob_api.get("/api/v1/oncall/people")
    assert 1 <= int(refused["Retry-After"]) <= 60 and problem(refused)["status"] == 429


def test_the_client_limit_counts_all_its_keys(world, key_for, settings):
    settings.API_RATE_PER_CLIENT_PER_MINUTE = 4
    one, two = key_for(world.bobs), key_for(world.bobs)
    codes = [api.get("/api/v1/oncall/people").status_code for api in (one, two, one, two, one, two)]
    assert codes == [200, 200, 200, 200, 429, 429]
    assert key_for(world.charlies).get("/api/v1/oncall/people").status_code == 200  # Charlie's is his own


def test_spend_caps(world, settings):
    from api.errors import Problem
    from api.spend import spend_take, spend_used

    settings.API_SPEND_TEXTS_PER_HOUR = 5
    spend_take(world.bobs, "texts", n=4)
    with pytest.raises(Problem) as refused:
        spend_take(world.bobs, "texts", n=2)
    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) > 0
    assert spend_used(world.bobs, "texts") == 4  # a refused take takes nothing
    spend_take(world.bobs, "texts")
    assert spend_used(world.charlies, "texts") == 0
