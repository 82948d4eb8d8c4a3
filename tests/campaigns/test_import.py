"""Contact lists from CSV: a column mapping, numbers to E.164, every refused line by line,
field and reason while the good rows land, duplicates merged, re-imports that update by
number without touching who is dialed when, custom fields, recycling — in a background job
whose progress a bar shows, or in the foreground from the command line."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tenants.utils import tenant_context

from campaigns.models import Contact, ContactImport, ContactList
from campaigns.services import imports
from campaigns.services.imports import (
    GoodRow,
    contact_import_confirm,
    contact_import_prepare,
    contact_import_progress,
    contact_import_run,
    contact_import_start,
    contact_list_recycle,
    contact_rows_write,
    csv_columns,
    mapping_guess,
)
from campaigns.services.lifecycle import campaign_create
from compliance.rules import Purpose

pytestmark = pytest.mark.django_db

NY = "+12125550142"  # 555-01xx: reserved for fiction, valid here
MIAMI = "+13055550142"
TULSA = "+19185550142"
PHONE_NAME = {"Phone": "number", "First Name": "first_name"}


@pytest.fixture
def renewals(world):
    """Bob's "Renewals" campaign with an empty "June" list (inside Bob's schema)."""
    with tenant_context(world.bobs):
        campaign = campaign_create(name="Renewals", purpose=Purpose.TELEMARKETING)
        june = ContactList.objects.create(campaign=campaign, name="June")
        yield june


def run(contact_list, data: str | bytes, mapping: dict, **kwargs) -> ContactImport:
    """Store a job and run it here, as the worker would."""
    data = data.encode() if isinstance(data, str) else data
    job = ContactImport.objects.create(list=contact_list, filename="list.csv", data=data, mapping=mapping,
                                       added_by="bob")
    return contact_import_run(import_id=job.pk, **kwargs)


def contacts(contact_list=None) -> dict[str, Contact]:
    query = Contact.objects.all() if contact_list is None else Contact.objects.filter(list=contact_list)
    return {c.number: c for c in query}


def test_bad_rows_are_refused_by_line_field_and_reason_and_the_good_ones_kept(renewals):
    data = ("Phone,First Name,Email,State\n"
            "212-555-0142,Ann,ann@example.com,ny\n"
            "banana,Bill,,\n"
            "\n"  # a blank line: skipped, but still counted as a line
            "305-555-0142,Cara,cara@,FL\n"
            "918-555-0142,Dan,,ZZ\n"
            ",Eve,,\n"
            '"(918) 555-0199",Fay\n')
    mapping = {**PHONE_NAME, "Email": "email", "State": "state"}
    job = run(renewals, data, mapping)
    assert (job.status, job.added, job.updated, job.merged, job.errors_count) == ("done", 2, 0, 0, 4)
    assert [(e["line"], e["field"]) for e in job.errors] == [(3, "number"), (5, "email"), (6, "state"),
                                                             (7, "number")]
    reasons = [e["reason"] for e in job.errors]
    assert "“banana” is not a phone number" in reasons[0]
    assert reasons[1] == "“cara@” is not an email address."
    assert reasons[2] == "“ZZ” is not a US state code (two letters, e.g. NY)."
    assert reasons[3] == "A phone number is required."
    kept = contacts(renewals)
    assert set(kept) == {NY, "+19185550199"}
    assert (kept[NY].first_name, kept[NY].email, kept[NY].state) == ("Ann", "ann@example.com", "NY")
    assert (job.rows_total, job.rows_done, bytes(job.data)) == (8, 8, b"")


@pytest.mark.parametrize(("raw", "e164"), [
    ("(212) 555-0142", NY),
    ("212.555.0142", NY),
    ("1-212-555-0142", NY),
    ("+1 212 555 0142", NY),
    ("2125550142", NY),
    ("+12125550142", NY),
    ("  212 555 0142 ", NY),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_numbers_in_any_usual_format_are_stored_in_e164(renewals, raw, e164):
    job = run(renewals, f'Phone\n"{raw}"\n', {"Phone": "number"})
    assert (job.added, job.errors) == (1, [])
    assert list(contacts(renewals)) == [e164]


def test_the_quick_reading_of_us_numbers_agrees_with_libphonenumber():
    """The import reads ``(212) 555-0142``-style numbers without a full parse; whatever the
    format, the answer (the number, or a refusal) must be what ``to_e164`` says."""
    import random

    from tenants.phone import to_e164

    rnd = random.Random(16)
    formats = ["({a}) {e}-{l}", "{a}-{e}-{l}", "1-{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}{e}{l}", "1{a}{e}{l}",
               "{a}.{e}.{l}", "+1 ({a}) {e}-{l}", "{a}/{e}-{l}", "+{a}{e}{l}", "0{a}{e}{l}"]
    for _ in range(3000):
        a, e, l = rnd.randint(100, 999), rnd.randint(100, 999), f"{rnd.randint(0, 9999):04d}"
        raw = rnd.choice(formats).format(a=a, e=e, l=l)
        try:
            expected = to_e164(raw)
        except ValidationError:
            expected = None
        assert imports._number(raw)[0] == expected, raw


def test_a_number_listed_twice_is_one_contact_whose_later_non_empty_values_win(renewals):
    data = ("Phone,First Name,Last Name,Plan,Agent\n"
            "2125550142,Ann,Old,gold,\n"
            "(212) 555-0142,Annie,,,Zoe\n"  # the same number written differently
            "3055550142,Bo,,,\n"
            "+1 212 555 0142,,,silver,\n")
    mapping = {**PHONE_NAME, "Last Name": "last_name", "Plan": "field:plan", "Agent": "field:agent"}
    job = run(renewals, data, mapping)
    assert (job.added, job.merged, job.errors_count) == (2, 2, 0)
    ann = contacts(renewals)[NY]
    # Later non-empty values override; an empty cell never blanks what an earlier row said.
    assert (ann.first_name, ann.last_name, ann.fields) == ("Annie", "Old", {"plan": "silver", "agent": "Zoe"})


def test_a_reimport_updates_by_number_without_touching_the_dialing_state(renewals):
    campaign = renewals.campaign
    sale = campaign.dispositions.get(code="sale")
    done = Contact.objects.create(campaign=campaign, list=renewals, number=NY, first_name="Ann", email="a@x.com",
                                  fields={"plan": "gold", "since": "2019"}, status=Contact.Status.DONE, attempts=2,
                                  last_outcome="live_answered", disposition=sale)
    exhausted = Contact.objects.create(campaign=campaign, list=renewals, number=MIAMI, status=Contact.Status.EXHAUSTED,
                                       attempts=3, last_outcome="no_answer")
    july = ContactList.objects.create(campaign=campaign, name="July")
    data = "Phone,First Name,Email,Plan\n2125550142,Annie,,platinum\n3055550142,Bo,,\n9185550142,Cy,,\n"
    job = run(july, data, {**PHONE_NAME, "Email": "email", "Plan": "field:plan"})
    assert (job.added, job.updated) == (1, 2)
    done.refresh_from_db()
    exhausted.refresh_from_db()
    assert (done.first_name, done.email, done.fields) == ("Annie", "a@x.com", {"plan": "platinum", "since": "2019"})
    assert (done.status, done.attempts, done.last_outcome, done.disposition_id) == ("done", 2, "live_answered", sale.pk)
    # Re-importing never revives a contact: recycling is the one way back.
    assert (exhausted.first_name, exhausted.status, exhausted.attempts) == ("Bo", "exhausted", 3)
    assert done.list_id == exhausted.list_id == july.pk  # the list that last imported them
    assert Contact.objects.get(number=TULSA).status == "new"
    assert Contact.objects.count() == 3


def test_custom_fields_are_stored_for_scripts_to_merge(renewals):
    data = "Mobile,Plan Type,Renewal Date,Notes\n2125550142,Gold,2026-07-01,\n"
    columns = csv_columns(data.encode())
    mapping = mapping_guess(columns)
    assert mapping == {"Mobile": "number", "Plan Type": "field:plan_type", "Renewal Date": "field:renewal_date",
                       "Notes": "field:notes"}
    job = run(renewals, data, mapping)
    assert job.added == 1
    assert contacts(renewals)[NY].fields == {"plan_type": "Gold", "renewal_date": "2026-07-01"}  # empty: not set


def test_the_guess_knows_the_usual_headers():
    assert mapping_guess(["Phone Number", "First Name", "LAST_NAME", "E-mail", "ST", "Zip Code", "Time Zone",
                          "Cell", ""]) == {
        "Phone Number": "number", "First Name": "first_name", "LAST_NAME": "last_name", "E-mail": "email",
        "ST": "state", "Zip Code": "postal_code", "Time Zone": "time_zone",
        "Cell": "field:cell"}  # a second phone column: the first one is the number
    assert mapping_guess(["phone_number"]) == {"phone_number": "number"}


def test_a_bad_time_zone_refuses_its_line_and_an_absent_one_comes_from_the_number(renewals):
    data = ("Phone,TZ\n"
            "2125550142,America/Chicago\n"  # given: kept, even if the number says otherwise
            "3055550142,Mars/Olympus\n"
            "9185550142,\n")
    job = run(renewals, data, {"Phone": "number", "TZ": "time_zone"})
    assert job.errors == [{"line": 3, "field": "time_zone",
                           "reason": "“Mars/Olympus” is not a time zone (use an IANA name, e.g. America/New_York)."}]
    kept = contacts(renewals)
    assert (kept[NY].time_zone, kept[TULSA].time_zone) == ("America/Chicago", "America/Chicago")
    assert MIAMI not in kept
    toll_free = run(renewals, "Phone,State\n8005550142,ny\n8005550143,\n", {"Phone": "number", "State": "state"})
    assert toll_free.added == 2
    # A toll-free number says nothing about where the person is: the state does, when it has one zone.
    assert contacts()["+18005550142"].time_zone == "America/New_York"
    assert contacts()["+18005550143"].time_zone == ""


def test_a_mapping_without_the_number_is_refused_with_a_clear_message(renewals):
    data = b"Phone,Name\n2125550142,Ann\n"
    with pytest.raises(ValidationError) as refused:
        contact_import_start(contact_list=renewals, filename="x.csv", data=data, mapping={"Name": "first_name"},
                             added_by="bob")
    assert refused.value.messages == ["No column is mapped to the phone number: map the column that holds it "
                                      "(e.g. “Phone”) to number."]
    with pytest.raises(ValidationError) as refused:
        contact_import_start(contact_list=renewals, filename="x.csv", data=data, added_by="bob",
                             mapping={"Telephone": "number", "Name": "nickname"})
    assert refused.value.messages == [
        "The file has no column “Telephone” (its columns: “Phone”, “Name”).",
        "Column “Name”: “nickname” is not a contact field (use one of number, first_name, last_name, email, state, "
        "postal_code, time_zone, or field:<name>).",
        "No column is mapped to the phone number."]
    assert not ContactImport.objects.exists()


def test_a_failure_in_a_later_batch_leaves_nothing_written(renewals, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 1)

    def fail_after_the_first_batch(done: int, total: int) -> None:
        assert Contact.objects.count() == 1  # the first batch is in
        raise RuntimeError("disk full")

    rows = [GoodRow(2, NY, {}, {}), GoodRow(3, MIAMI, {}, {})]
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_rows_write(contact_list=renewals, rows=rows, progress=fail_after_the_first_batch)
    assert not Contact.objects.exists()


def test_a_job_that_fails_after_writing_says_so_and_leaves_nothing_half_written(renewals, monkeypatch):
    Contact.objects.create(campaign=renewals.campaign, list=renewals, number=NY, first_name="Ann")
    real = imports.contact_rows_write

    def write_then_break(**kwargs):
        real(**kwargs)
        assert Contact.objects.count() == 3  # written, not yet committed
        raise RuntimeError("connection lost")

    monkeypatch.setattr(imports, "contact_rows_write", write_then_break)
    job = run(renewals, "Phone,First Name\n2125550142,Annie\n3055550142,Bo\n9185550142,Cy\n", PHONE_NAME)
    assert job.status == "failed" and "no contact was added or changed" in job.failure
    assert (job.added, job.updated, bytes(job.data)) == (0, 0, b"")
    assert list(Contact.objects.values_list("number", "first_name")) == [(NY, "Ann")]


def test_a_redelivered_job_does_nothing(renewals):
    job = run(renewals, "Phone,First Name\n2125550142,Ann\n", PHONE_NAME)
    Contact.objects.filter(number=NY).update(first_name="Changed since")
    again = contact_import_run(import_id=job.pk)
    assert (again.status, again.added, again.finished) == ("done", 1, job.finished)
    assert Contact.objects.get(number=NY).first_name == "Changed since"
    assert contact_import_run(import_id=987654) is None  # gone: nothing to do


def test_progress_is_written_to_the_job_as_it_goes(renewals, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 10)
    data = "Phone\n" + "".join(f"212555{n:04d}\n" for n in range(100, 150))
    seen = []

    def look(done: int, total: int) -> None:
        job = ContactImport.objects.get()
        seen.append((job.status, job.rows_done, job.rows_total))

    job = run(renewals, data, {"Phone": "number"}, progress=look)
    assert job.added == 50
    # Every 10 data rows (the 10th is on line 11), then the end; each committed to the row the bar reads.
    assert seen == [("parsing", done, 51) for done in (11, 21, 31, 41, 51, 51)]
    assert contact_import_progress(job=job)["text"] == "Done: 50 added, 0 updated, 0 duplicates merged, 0 lines " \
                                                       "not imported."


def test_semicolons_tabs_a_bom_and_windows_1252_are_read(renewals):
    bom = "\ufeffPhone;Vorname\n212 555 0142;Jürgen\n".encode()
    job = run(renewals, bom, {"Phone": "number", "Vorname": "first_name"})
    assert (job.added, job.errors) == (1, [])
    tabs = "Phone\tFirst Name\n3055550142\tJos\u00e9 \u2013 Luis\n".encode("cp1252")
    assert csv_columns(tabs) == ["Phone", "First Name"]
    assert run(renewals, tabs, PHONE_NAME).added == 1
    excel = "sep=;\nPhone;First Name\n9185550142;Cy\n"  # Excel's hint line: the header is the next line
    assert run(renewals, excel, PHONE_NAME).added == 1
    assert {c.number: c.first_name for c in Contact.objects.all()} == {NY: "Jürgen", MIAMI: "José – Luis",
                                                                        TULSA: "Cy"}


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """The import's task runs inline once the upload's transaction commits."""
    from switchboard.celery import app

    app.conf.task_always_eager = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        app.conf.task_always_eager = False


def test_start_queues_the_job_after_the_commit(renewals, eager):
    with eager():
        job = contact_import_start(contact_list=renewals, filename="june.csv", added_by="bea",
                                   data=b"Phone,First Name\n2125550142,Ann\n", mapping=PHONE_NAME)
        assert job.status == "queued"
    job.refresh_from_db()
    assert (job.status, job.added) == ("done", 1)
    assert Contact.objects.get().list_id == renewals.pk


def test_a_prepared_upload_waits_for_its_mapping_then_runs(renewals, eager):
    job = contact_import_prepare(contact_list=renewals, filename="june.csv", added_by="bea",
                                 data=b"Cell,Given Name\n2125550142,Ann\n")
    assert contact_import_progress(job=job)["text"] == "Waiting for the column mapping."
    assert mapping_guess(csv_columns(bytes(job.data))) == {"Cell": "number", "Given Name": "first_name"}
    with pytest.raises(ValidationError, match="No column is mapped to the phone number"):
        contact_import_confirm(job=job, mapping={"Given Name": "first_name"})
    with eager():
        contact_import_confirm(job=job, mapping={"Cell": "number", "Given Name": "first_name"})
    job.refresh_from_db()
    assert (job.status, job.added, job.mapping) == ("done", 1, {"Cell": "number", "Given Name": "first_name"})
    with pytest.raises(ValidationError, match="spreadsheet workbook"):
        contact_import_prepare(contact_list=renewals, filename="x.xlsx", data=b"PK\x03\x04...", added_by="bea")


def test_recycle_puts_exhausted_and_chosen_outcomes_back_but_never_dnc_blocked_or_a_sale(renewals):
    campaign = renewals.campaign
    sale, not_interested = (campaign.dispositions.get(code=c) for c in ("sale", "not_interested"))
    S = Contact.Status

    def make(number, status, **kw):
        return Contact.objects.create(campaign=campaign, list=renewals, number=number, status=status, **kw).pk

    exhausted = make("+12125550101", S.EXHAUSTED, attempts=3, last_outcome="no_answer")
    busy_retry = make("+12125550102", S.RETRY, attempts=1, last_outcome="busy")
    declined = make("+12125550103", S.DONE, attempts=1, last_outcome="live_answered", disposition=not_interested)
    sold = make("+12125550104", S.DONE, attempts=1, last_outcome="live_answered", disposition=sale)
    dnc = make("+12125550105", S.DNC, attempts=1, last_outcome="no_answer")
    blocked = make("+12125550106", S.BLOCKED, attempts=0)
    ringing = make("+12125550107", S.IN_FLIGHT, attempts=1, last_outcome="no_answer")
    other_list = ContactList.objects.create(campaign=campaign, name="Other")
    elsewhere = Contact.objects.create(campaign=campaign, list=other_list, number="+12125550108",
                                       status=S.EXHAUSTED, attempts=3).pk

    def state(pk):
        c = Contact.objects.get(pk=pk)
        return c.status, c.attempts

    assert contact_list_recycle(contact_list=renewals, by="bob") == 1
    assert state(exhausted) == ("new", 0)
    assert state(busy_retry) == ("retry", 1) and state(elsewhere) == ("exhausted", 3)
    Contact.objects.filter(pk=exhausted).update(status=S.EXHAUSTED, attempts=3)
    assert contact_list_recycle(contact_list=renewals, outcomes=["busy", "not_interested", "sale", "live_answered",
                                                                 "no_answer"], by="bob") == 3
    assert [state(pk) for pk in (exhausted, busy_retry, declined)] == [("new", 0)] * 3
    assert state(sold) == ("done", 1) and state(dnc) == ("dnc", 1) and state(blocked) == ("blocked", 0)
    assert state(ringing) == ("in_flight", 1)
    assert Contact.objects.get(pk=declined).disposition_id == not_interested.pk  # the history stays
    assert contact_list_recycle(contact_list=renewals, by="bob") == 0  # nobody left to put back: not counted
    renewals.refresh_from_db()
    assert renewals.recycled == 2
    with pytest.raises(ValidationError, match="Not an outcome or a disposition of “Renewals”: bogus"):
        contact_list_recycle(contact_list=renewals, outcomes=["bogus"], by="bob")


def test_the_command_imports_with_a_bar_and_lists_the_refused_lines(world, renewals, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr("campaigns.management.commands.contacts_import.ERRORS_SHOWN", 2)
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Phone,First Name,Plan\n2125550142,Ann,gold\nbanana,B,\n3055550142,Cy,\n1,D,\nx,E,\n"
                     b"2125550142,Annie,\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("contacts_import", str(path), "--client", "Bob's Plumbing", "--campaign", "renewals",
                 "--list", "Leads", "--map", "number=Phone", "--map", "first_name=First Name",
                 "--map", "field:plan=Plan", "--added-by", "ops", stdout=out, stderr=err)
    out, err = out.getvalue(), err.getvalue()
    assert "Created the list “Leads” in “Renewals”." in out
    assert "Bob's Plumbing / Renewals / Leads: 7 lines, 2 added, 0 updated, 1 duplicates merged, 3 not imported" in out
    assert "  line 3, number: “banana” is not a phone number" in out
    assert "  line 5, number: " in out and "line 6" not in out
    assert "  … and 1 more lines not imported" in out
    assert "checking [" in err and "7/7 lines" in err and "adding the contacts" in err
    leads = ContactList.objects.get(name="Leads")
    assert {c.number: (c.first_name, c.fields) for c in leads.contacts.all()} == {
        NY: ("Annie", {"plan": "gold"}), MIAMI: ("Cy", {})}
    assert ContactImport.objects.get(list=leads).added_by == "ops"

    out = io.StringIO()  # without --map: the columns are guessed and said
    call_command("contacts_import", str(path), "--client", "bobsplumbing", "--campaign", str(renewals.campaign_id),
                 "--list", "Leads", "--no-progress", stdout=out)
    assert "Columns guessed from the header: number='Phone', first_name='First Name', field:plan='Plan'" \
        in out.getvalue()
    assert "0 added, 2 updated" in out.getvalue()
    with pytest.raises(CommandError, match="No column is mapped to the phone number"):
        call_command("contacts_import", str(path), "--client", "bobsplumbing", "--campaign", "Renewals",
                     "--list", "Leads", "--map", "first_name=First Name", stdout=io.StringIO())
    with pytest.raises(CommandError, match="has no campaign 'Winback'"):
        call_command("contacts_import", str(path), "--client", "bobsplumbing", "--campaign", "Winback",
                     "--list", "Leads", stdout=io.StringIO())


def test_an_import_into_bobs_campaign_never_touches_charlies(world, renewals):
    with tenant_context(world.charlies):
        theirs = campaign_create(name="Renewals", purpose=Purpose.INFORMATIONAL)
        their_list = ContactList.objects.create(campaign=theirs, name="June")
        Contact.objects.create(campaign=theirs, list=their_list, number=NY, first_name="Charlie's Ann",
                               status=Contact.Status.EXHAUSTED, attempts=3)
    with tenant_context(world.bobs):
        job = run(renewals, "Phone,First Name\n2125550142,Bob's Ann\n3055550142,Bo\n", PHONE_NAME)
        assert (job.added, job.updated) == (2, 0)  # NY is new to Bob's campaign
        assert contact_list_recycle(contact_list=renewals, by="bob") == 0
    with tenant_context(world.charlies):
        assert list(Contact.objects.values_list("number", "first_name", "status", "attempts")) == [
            (NY, "Charlie's Ann", "exhausted", 3)]
        assert not ContactImport.objects.exists()
