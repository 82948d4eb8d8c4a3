"""answering/messages/display.py: stored values in words (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from answering.messages import display


def test_codes_in_words():
    assert display.language_name("es") == "Spanish" and display.language_name("en") == "English"
    assert display.language_name("xx") == "XX"  # unknown: shown, never dropped
    assert display.menu_choice_label("after_hours:1") == "After hours — option 1"
    assert display.menu_choice_label("open:2", {"open:2": "Billing"}) == "Business hours — option 2: Billing"
    assert display.menu_choice_label("") == ""
    assert display.category_label("service_request") == "Service request"
    assert display.category_label("voicemail") == "Voicemail"
    assert display.category_label("HVAC emergency") == "HVAC emergency"  # a person's words stay


def test_numbers_as_the_clients_country_writes_them():
    assert display.phone_text("+12125550177") == "(212) 555-0177"
    assert display.phone_text("+442079460000") == "+44 20 7946 0000"
    assert display.phone_text("+442079460000", "GB") == "020 7946 0000"
    assert display.phone_text("anonymous") == "anonymous"
    assert display.tel_href("+12125550177") == "tel:+12125550177" and display.tel_href("withheld") == ""


def test_times_name_their_zone():
    at = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    assert display.time_text(at, "America/Chicago") == "Wed 1 Jul, 10:00 CDT"
    assert display.time_text(at.replace(tzinfo=None), "America/New_York") == "Wed 1 Jul, 11:00 EDT"
    assert display.iso_local(at, "America/New_York") == "2026-07-01T11:00:00-04:00"
    assert display.value_text("2026-07-01T10:00:00-05:00", "datetime", time_zone="America/New_York") == \
        "Wed 1 Jul, 11:00 EDT"
    assert display.value_text("no", "yes_no") == "No" and display.value_text(["a", "b"]) == "a, b"
