"""Contacts and lists through the API: a list created, a CSV imported as a background job (the
portal's own task) whose progress shows, whose bad rows are reported by line, field and reason
while the good ones are kept; a re-import updates by number; a bad file or mapping is refused by
field with nothing written; scopes; contacts with their attempts; one import under concurrent retries."""

from __future__ import annotations

import json
import threading
import uuid
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django_tenants.utils import schema_context

from api.models import ApiKey, Scope
from api.services.keys import api_key_create
from campaigns.models import Contact, ContactImport, ContactList
from campaigns.services import imports
from campaigns.services.lifecycle import campaign_create
from tenants import services
from tenants.models import Client
from tests.api.conftest import ALL_SCOPES, Api, problem

GOOD_AND_BAD = ("Phone,First Name,Plan\n"
                "(212) 555-0142,Ann,Gold\n"
                "banana,Bill,Silver\n"
                "305-555-0142,Cara,\n")
MAPPING = {"Phone": "number", "First Name": "first_name", "Plan": "field:plan"}


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """The import's task runs inline once the request's transaction commits."""
    from switchboard.celery import app

    app.conf.task_always_eager = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def renewals(world):
    """Bob's "Renewals" campaign (no list yet)."""
    with schema_context("bobsplumbing"):
        return campaign_create(name="Renewals", purpose="informational")


def _json(response) -> dict:
    return json.loads(response.content)


def _list(bob_api, campaign, name="June") -> dict:
    made = bob_api.post("/api/v1/contact-lists", {"campaign": campaign.pk, "name": name, "priority": 5})
    assert made.status_code == HTTPStatus.CREATED, made.content
    return _json(made)


@pytest.mark.django_db
def test_a_list_is_created_once_and_read(bob_api, renewals):
    june = _list(bob_api, renewals)
    assert (june["name"], june["priority"], june["contacts"], june["campaign"]) == ("June", 5, 0, renewals.pk)
    again = bob_api.post("/api/v1/contact-lists", {"campaign": renewals.pk, "name": "June", "priority": 9})
    assert again.status_code == HTTPStatus.OK and _json(again)["id"] == june["id"]
    assert _json(again)["priority"] == 5  # an existing list is left as it is
    assert _json(bob_api.get(f"/api/v1/contact-lists/{june['id']}"))["name"] == "June"
    listed = _json(bob_api.get("/api/v1/contact-lists", {"campaign": renewals.pk}))["results"]
    assert [row["id"] for row in listed] == [june["id"]]
    refused = bob_api.post("/api/v1/contact-lists", {"campaign": 999_999, "name": "July", "priority": 5000})
    assert {e["field"] for e in problem(refused)["errors"]} == {"priority"}
    refused = bob_api.post("/api/v1/contact-lists", {"campaign": 999_999, "name": "July"})
    assert problem(refused)["errors"] == [{"field": "campaign", "message": "No such campaign."}]
    with schema_context("bobsplumbing"):
        assert list(ContactList.objects.values_list("name", flat=True)) == ["June"]


@pytest.mark.django_db
def test_an_import_keeps_the_good_rows_and_reports_the_bad_one_by_line_and_reason(bob_api, renewals, eager):
    june = _list(bob_api, renewals)
    with eager():
        queued = bob_api.post(f"/api/v1/contact-lists/{june['id']}/imports", {"csv": GOOD_AND_BAD, "mapping": MAPPING,
                                                                             "filename": "june.csv"})
        assert queued.status_code == HTTPStatus.ACCEPTED, queued.content
        job = _json(queued)
        assert job["state"] == "queued" and not job["finished"]
        assert queued["Location"] == job["url"] and job["url"].endswith(f"/api/v1/imports/{job['id']}")
    done = _json(bob_api.get(f"/api/v1/imports/{job['id']}"))
    assert (done["state"], done["finished"], done["added"], done["updated"], done["errors_count"]) == \
        ("done", True, 2, 0, 1)
    assert done["progress"] == {"done": 4, "total": 4, "percent": 100}
    assert done["errors"] == [{"line": 3, "field": "number",
                               "reason": done["errors"][0]["reason"]}]
    assert "“banana” is not a phone number" in done["errors"][0]["reason"]
    with schema_context("bobsplumbing"):
        kept = {c.number: (c.first_name, c.fields) for c in Contact.objects.filter(list_id=june["id"])}
    assert kept == {"+12125550142": ("Ann", {"plan": "Gold"}), "+13055550142": ("Cara", {})}
    assert _json(bob_api.get(f"/api/v1/contact-lists/{june['id']}"))["contacts"] == 2


@pytest.mark.django_db
def test_the_progress_shows_while_the_job_runs(bob_api, renewals):
    june = _list(bob_api, renewals)
    rows = "".join(f"212555{n:04d},Person {n}\n" for n in range(1000, 5500))
    job = _json(bob_api.post(f"/api/v1/contact-lists/{june['id']}/imports",
                             {"csv": "Phone,First Name\n" + rows, "mapping": {"Phone": "number"}}))
    waiting = _json(bob_api.get(f"/api/v1/imports/{job['id']}"))
    assert (waiting["state"], waiting["progress"]["done"], waiting["text"]) == \
        ("queued", 0, "Waiting for a worker to start…")
    seen = []

    def poll(done, total):  # what a client polling the job sees at each report of the worker
        body = _json(bob_api.get(f"/api/v1/imports/{job['id']}"))
        seen.append((body["state"], body["progress"]["done"], body["progress"]["total"]))

    with schema_context("bobsplumbing"):
        imports.contact_import_run(import_id=job["id"], progress=poll)
    # Lines (the header is one) as the worker reports them, every 2 000 rows checked.
    assert seen == [("parsing", 2001, 4501), ("parsing", 4001, 4501), ("parsing", 4501, 4501)]
    finished = _json(bob_api.get(f"/api/v1/imports/{job['id']}", {"errors_limit": 0}))
    assert (finished["state"], finished["added"], finished["progress"]["percent"]) == ("done", 4500, 100)


@pytest.mark.django_db
def test_a_reimport_updates_by_number_without_redialing_anyone(bob_api, renewals, eager):
    june = _list(bob_api, renewals)
    path = f"/api/v1/contact-lists/{june['id']}/imports"
    with eager():
        bob_api.post(path, {"csv": "Phone,First Name\n2125550142,Ann\n", "mapping": {"Phone": "number",
                                                                                  "First Name": "first_name"}})
    with schema_context("bobsplumbing"):
        Contact.objects.filter(number="+12125550142").update(status=Contact.Status.DONE, attempts=2)
    with eager():  # the mapping guessed from the headers this time
        job = _json(bob_api.post(path, {"csv": "Phone,First Name,Email\n(212) 555-0142,Anne,anne@example.com\n"}))
    again = _json(bob_api.get(f"/api/v1/imports/{job['id']}"))
    assert (again["added"], again["updated"], again["mapping"]) == \
        (0, 1, {"Phone": "number", "First Name": "first_name", "Email": "email"})
    with schema_context("bobsplumbing"):
        contact = Contact.objects.get(number="+12125550142")
    assert (contact.first_name, contact.email, contact.status, contact.attempts) == \
        ("Anne", "anne@example.com", "done", 2)


@pytest.mark.django_db
def test_a_multipart_upload_with_its_mapping_as_json_text(bob_api, renewals, eager):
    june = _list(bob_api, renewals)
    upload = SimpleUploadedFile("june.csv", "Cell;Given Name\r\n2125550143;Zoë\r\n".encode("utf-16"))
    with eager():
        response = bob_api.http.post(f"/api/v1/contact-lists/{june['id']}/imports",
                                     {"file": upload, "mapping": json.dumps({"Cell": "number",
                                                                             "Given Name": "first_name"})},
                                     headers=bob_api.headers)
    assert response.status_code == HTTPStatus.ACCEPTED, response.content
    done = _json(bob_api.get(_json(response)["url"]))
    assert (done["state"], done["added"], done["filename"]) == ("done", 1, "june.csv")
    with schema_context("bobsplumbing"):
        assert Contact.objects.get(number="+12125550143").first_name == "Zoë"


@pytest.mark.django_db
@pytest.mark.parametrize("body, field, says", [
    ({"csv": GOOD_AND_BAD, "mapping": {"First Name": "first_name"}}, "mapping", "No column is mapped to the phone"),
    ({"csv": GOOD_AND_BAD, "mapping": {"Telephone": "number"}}, "mapping", "The file has no column “Telephone”"),
    ({"csv": GOOD_AND_BAD, "mapping": {"Phone": "birthday"}}, "mapping", "“birthday” is not a contact field"),
    ({"csv": "PK\x03\x04 not a csv", "mapping": MAPPING}, "csv", "spreadsheet workbook"),
    ({"csv": "", "mapping": MAPPING}, "csv", "blank"),
    ({"mapping": MAPPING}, "csv", "required"),
    ({"csv": GOOD_AND_BAD, "mapping": ["Phone"]}, "mapping", ""),
])
def test_a_bad_file_or_mapping_is_refused_by_field_and_nothing_is_written(bob_api, renewals, eager, body, field,
                                                                          says):
    june = _list(bob_api, renewals)
    with eager():
        response = bob_api.post(f"/api/v1/contact-lists/{june['id']}/imports", body)
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    errors = problem(response)["errors"]
    assert {e["field"] for e in errors} == {field}
    assert any(says in e["message"] for e in errors), errors
    with schema_context("bobsplumbing"):
        assert not ContactImport.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_a_mapping_that_is_not_json_in_a_form_is_refused_by_field(bob_api, renewals):
    june = _list(bob_api, renewals)
    response = bob_api.http.post(f"/api/v1/contact-lists/{june['id']}/imports",
                                 {"file": SimpleUploadedFile("a.csv", GOOD_AND_BAD.encode()), "mapping": "{Phone"},
                                 headers=bob_api.headers)
    assert [e["field"] for e in problem(response)["errors"]] == ["mapping"]
    with schema_context("bobsplumbing"):
        assert not ContactImport.objects.exists()


@pytest.mark.django_db
def test_out_of_scope_keys_are_403(world, key_for, renewals):
    with schema_context("bobsplumbing"):
        june = ContactList.objects.create(campaign=renewals, name="June")
    reader = key_for(world.bobs, scopes=[Scope.CONTACTS_READ])
    refused = reader.post(f"/api/v1/contact-lists/{june.pk}/imports", {"csv": GOOD_AND_BAD, "mapping": MAPPING})
    assert refused.status_code == HTTPStatus.FORBIDDEN and "contacts:write" in problem(refused)["detail"]
    assert reader.post("/api/v1/contact-lists", {"campaign": renewals.pk, "name": "July"}).status_code == 403
    assert reader.get("/api/v1/contacts").status_code == HTTPStatus.OK
    other = key_for(world.bobs, scopes=[Scope.MESSAGES_READ, Scope.CAMPAIGNS_READ])
    for path in ("/api/v1/contacts", "/api/v1/contact-lists", f"/api/v1/contact-lists/{june.pk}"):
        assert "contacts:read" in problem(other.get(path))["detail"], path
    with schema_context("bobsplumbing"):
        assert not ContactImport.objects.exists() and ContactList.objects.count() == 1


@pytest.mark.django_db
def test_contacts_filtered_and_one_with_its_attempts(bobs_data, bob_api):
    c = bobs_data.campaign
    listed = _json(bob_api.get("/api/v1/contacts", {"campaign": c.campaign.pk, "status": "retry"}))["results"]
    assert [row["id"] for row in listed] == [c.contact.pk]
    assert _json(bob_api.get("/api/v1/contacts", {"status": "done"}))["results"] == []
    assert [r["id"] for r in _json(bob_api.get("/api/v1/contacts", {"number": "(212) 555-0147"}))["results"]] == \
        [c.contact.pk]
    assert [r["id"] for r in _json(bob_api.get("/api/v1/contacts", {"q": "bob"}))["results"]] == [c.contact.pk]
    assert [e["field"] for e in problem(bob_api.get("/api/v1/contacts", {"number": "banana"}))["errors"]] == \
        ["number"]
    one = _json(bob_api.get(f"/api/v1/contacts/{c.contact.pk}"))
    assert (one["number"], one["status"], one["attempts"], one["list"]) == \
        ("+12125550147", "retry", 1, c.contact_list.pk)
    assert [(a["outcome"], a["channel"]) for a in one["attempts_made"]] == [("no_answer", "autodialed")]
    job = _json(bob_api.get(f"/api/v1/imports/{c.contact_import.pk}"))
    assert job["errors"] == [{"line": 3, "field": "number", "reason": "Bob's bad row"}]
    assert _json(bob_api.get(f"/api/v1/imports/{c.contact_import.pk}", {"errors_limit": 0}))["errors"] == []


# --- One import under concurrent retries (committed data, threads of their own) ---------------

SLUG = "apicontacts"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """A client of this module's own with a key and a list (committed: the threads see them)."""
    with django_db_blocker.unblock():
        client = services.client_provision(name="Contacts Inc", slug=SLUG, time_zone="America/New_York",
                                           domain=HOST)
        _, plain = api_key_create(client=client, name="retrying CRM", scopes=ALL_SCOPES, expires_at=None, by="t")
        with schema_context(SLUG):
            campaign = campaign_create(name="Win-back", purpose="informational")
            june = ContactList.objects.create(campaign=campaign, name="June")
    try:
        yield plain, june.pk
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


def test_concurrent_retries_start_one_import(committed, django_db_blocker):
    from switchboard.celery import app

    plain, list_id = committed
    key = str(uuid.uuid4())
    answers: list = []
    start = threading.Barrier(8)

    def retry():
        try:
            api = Api(HOST, plain)
            start.wait()
            response = api.post(f"/api/v1/contact-lists/{list_id}/imports", {"csv": GOOD_AND_BAD, "mapping": MAPPING},
                                HTTP_IDEMPOTENCY_KEY=key)
            answers.append((response.status_code, json.loads(response.content)))
        finally:
            connections.close_all()

    app.conf.task_always_eager = True  # the one job runs in the thread whose request committed it
    try:
        with django_db_blocker.unblock():
            threads = [threading.Thread(target=retry) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert len(answers) == 8
            assert {status for status, _ in answers} == {HTTPStatus.ACCEPTED}, answers
            assert len({body["id"] for _, body in answers}) == 1
            with schema_context(SLUG):
                assert ContactImport.objects.count() == 1
                assert ContactImport.objects.get().status == "done"
                assert Contact.objects.count() == 2
    finally:
        app.conf.task_always_eager = False
