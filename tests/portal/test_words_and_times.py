"""What clients read is in words and in their time zone (issue 15, findings 7 and 8).

Charlie's Clinic (America/Chicago, English and Spanish). A Spanish caller pressed 1 after
hours; the message's answers were stored as jsonb, which orders keys by length, then bytes —
not the script's order. Every page, text and email must say the script's order, in words,
with times in Chicago's zone named."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.template.loader import render_to_string
from django_tenants.utils import schema_context

from answering.messages import texts
from answering.models import CallRecord, Delivery, MenuOption, Message, Script, ScriptVersion
from tests.conftest import CHARLIE_HOST

pytestmark = pytest.mark.django_db

# 15:00 UTC on Monday 2 March 2026 is 09:00 in Chicago (CST, UTC-6).
TAKEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LONG_ADDRESS = ("Apartment 4B, rear entrance by the laundry room, 1234 North Lake Shore Drive, Chicago, Illinois "
                "60611, buzz twice and wait")
# The script's order; jsonb stores them as pet, address, symptoms, seen_since, callback_number.
DEFINITION = {"first_step": "what", "steps": [
    {"key": "what", "say": {"en": "What is wrong?"}, "next": "who", "fields": [
        {"name": "symptoms", "label": "Symptoms", "type": "text", "required": True},
        {"name": "pet", "label": "Pet's name", "type": "text", "required": False},
        {"name": "seen_since", "label": "Since when?", "type": "datetime", "required": False},
        {"name": "emergency", "label": "Emergency?", "type": "yes_no", "required": False}]},
    {"key": "who", "say": {"en": "Your number and address?"}, "end": {"action": "message"}, "fields": [
        {"name": "callback_number", "label": "Callback number", "type": "phone", "required": True},
        {"name": "address", "label": "Address", "type": "address", "required": True}]},
]}
SCRIPT_ORDER = ["Symptoms", "Pet's name", "Since when?", "Emergency?", "Callback number", "Address"]


@pytest.fixture
def spanish_after_hours(world):
    """A Spanish caller's after-hours call (option 1), its message, in Charlie's schema."""
    with schema_context("charlieclinic"):
        MenuOption.objects.create(flow="after_hours", digit="1", label="Sick pet")
        script = Script.objects.create(key="sick-pet", name="Sick pet")
        version = ScriptVersion.objects.create(script=script, number=1, definition=DEFINITION, checksum="test")
        call = CallRecord.objects.create(call_sid="CA" + "5" * 32, caller="+13125550177", number_dialed="+13125550113",
                                         language="es", menu_choice="after_hours:1", arrived_at=TAKEN,
                                         outcome=CallRecord.Outcome.ANSWERED, caller_hung_up=True)
        message = Message.objects.create(
            caller="+13125550177", callback_number="+13125550177", caller_name="Rosa Díaz", language="es",
            urgency="urgent", category="sick_pet", script_version=version, call=call, call_sid=call.call_sid,
            fields={"symptoms": "Vomiting since the morning, will not eat", "pet": "Luna",
                    "seen_since": "2026-03-02T07:30:00-06:00", "emergency": "yes",
                    "callback_number": "+13125550177", "address": LONG_ADDRESS})
        Message.objects.filter(pk=message.pk).update(created=TAKEN)
        message = Message.objects.select_related("script_version", "call").get(pk=message.pk)
        # jsonb's own order is not the script's: the test means something.
        assert list(message.fields) != ["symptoms", "pet", "seen_since", "emergency", "callback_number", "address"]
    return message


def _labels(page: str) -> list[str]:
    return re.findall(r"<dt>([^<]*)</dt>", page.replace("&#x27;", "'"))


def test_the_message_page_says_it_in_words_in_the_scripts_order(world, logged_in, spanish_after_hours):
    message = spanish_after_hours
    page = logged_in(world.charlie, CHARLIE_HOST).get(f"/messages/{message.pk}/").content.decode()
    assert _labels(page) == SCRIPT_ORDER
    assert "After hours — option 1: Sick pet" in page and "after_hours:1" not in page
    assert '<span class="language">Spanish</span>' in page and ">es<" not in page
    assert '<span class="category">Sick pet</span>' in page and "sick_pet" not in page
    assert "<dd>Yes</dd>" in page  # a yes/no answer, not "yes"
    # The caller's own time and the message's, in Chicago, saying so.
    assert "<dd>Mon 2 Mar, 07:30 CST</dd>" in page
    assert "Monday 2 March 2026, 09:00 CST" in page
    # Tap to call, written as Chicago writes it.
    assert '<a class="tel" href="tel:+13125550177">(312) 555-0177</a>' in page


def test_the_inbox_summary_keeps_the_scripts_order_so_the_problem_comes_first(world, logged_in, spanish_after_hours):
    page = logged_in(world.charlie, CHARLIE_HOST).get("/messages/").content.decode()
    summary = re.search(r'<td class="no-label summary">(.*?)</td>', page, re.DOTALL).group(1)
    assert summary.startswith("Symptoms: Vomiting since the morning, will not eat · Pet&#x27;s name: Luna")
    assert "Mon 2 Mar, 09:00 CST" in page  # when it was taken, zone named
    assert '<span class="muted"> Sick pet</span>' in page and ">sick_pet<" not in page
    assert 'href="tel:+13125550177"' in page


def test_the_call_log_says_the_menu_choice_the_language_and_the_hang_up(world, logged_in, spanish_after_hours):
    page = logged_in(world.charlie, CHARLIE_HOST).get("/calls/").content.decode()
    assert "After hours — option 1: Sick pet" in page and "after_hours:1" not in page
    assert "Spanish" in page and "Caller hung up" in page
    assert "Mon 2 Mar, 09:00 CST" in page and "Times in America/Chicago" in page
    assert '<a class="tel" href="tel:+13125550177">(312) 555-0177</a>' in page


def test_a_call_links_to_its_message_and_back(world, logged_in, spanish_after_hours):
    message = spanish_after_hours
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    calls = charlie.get("/calls/").content.decode()
    assert f'href="/messages/{message.pk}/" data-message-link="{message.pk}"' in calls
    page = charlie.get(f"/messages/{message.pk}/").content.decode()
    assert f'href="/calls/?call={message.call_id}"' in page
    # That link shows that call alone.
    with schema_context("charlieclinic"):
        other = CallRecord.objects.create(call_sid="CA" + "6" * 32, caller="+13125550199",
                                          number_dialed="+13125550113", arrived_at=TAKEN)
    just_one = charlie.get(f"/calls/?call={message.call_id}").content.decode()
    assert f'data-call="{message.call_id}"' in just_one and f'data-call="{other.pk}"' not in just_one
    assert charlie.get("/calls/?call=banana").status_code == HTTPStatus.OK  # an odd link is no filter


def test_the_technicians_text_and_call_out_say_it_in_the_scripts_order(world, spanish_after_hours):
    message = spanish_after_hours
    with schema_context("charlieclinic"):
        body = texts.sms_body(message, client=world.charlies)
        spoken = texts.callout_text(Delivery(message=message), client=world.charlies)
    assert body.startswith("[Charlie's Clinic] URGENT message from Rosa Díaz (Sick pet). Caller speaks Spanish. "
                           "Call back (312) 555-0177. Symptoms: Vomiting since the morning, will not eat; "
                           "Pet's name: Luna; Since when: Mon 2 Mar, 07:30 CST; Emergency: Yes; Address: Apartment 4B")
    assert "sick_pet" not in body and "seen_since" not in body
    assert "Callback number: 3 1 2 5 5 5 0 1 7 7. Symptoms: Vomiting" in spoken
    assert spoken.index("Symptoms") < spoken.index("Pet's name") < spoken.index("Address")


def test_the_email_says_it_in_the_clients_zone_and_the_scripts_order(world, spanish_after_hours):
    message = spanish_after_hours
    with schema_context("charlieclinic"):
        body = render_to_string("portal/email/message.txt", texts.email_context(message, client=world.charlies))
    # The worker runs in UTC; the email says Chicago's time and which zone it is.
    assert "Taken: Monday 2 March 2026, 09:00 CST" in body
    assert "Call back: (312) 555-0177" in body and "Category: Sick pet" in body and "speaks Spanish" in body
    lines = [line.split(":")[0] for line in body.splitlines() if line.split(":")[0] in SCRIPT_ORDER]
    assert lines == [label for label in SCRIPT_ORDER if label != "Callback number"]  # said apart, first


def test_answers_the_script_does_not_name_come_last_in_a_stable_order(world, spanish_after_hours):
    from answering.messages.display import message_answers

    with schema_context("charlieclinic"):
        Message.objects.filter(pk=spanish_after_hours.pk).update(
            fields={**spanish_after_hours.fields, "zz": "last", "a": "older script"})
        message = Message.objects.select_related("script_version").get(pk=spanish_after_hours.pk)
    names = [a.name for a in message_answers(message, time_zone="America/Chicago")]
    assert names[:6] == ["symptoms", "pet", "seen_since", "emergency", "callback_number", "address"]
    assert names[6:] == [n for n in message.fields if n in ("zz", "a")]  # as stored: stable


def test_the_client_data_admin_says_calls_and_messages_in_words_and_chicago_time(world, logged_in,
                                                                                spanish_after_hours):
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    calls = charlie.get("/admin/answering/callrecord/").content.decode()
    assert "Mon 2 Mar 2026, 09:00:00 CST" in calls
    assert "After hours — option 1" in calls and "after_hours:1" not in calls and "Spanish" in calls
    messages = charlie.get("/admin/answering/message/").content.decode()
    assert "Mon 2 Mar 2026, 09:00:00 CST" in messages
    page = charlie.get(f"/admin/answering/message/{spanish_after_hours.pk}/change/").content.decode()
    assert page.index("Symptoms (symptoms)") < page.index("Pet&#x27;s name (pet)") < page.index("Address (address)")
