"""The portal's calendars in a real browser (Chromium), against a real ASGI server and Celery
worker: Bea has her technician's week open; an agent books a visit (the booking service, as
the console calls it, from this process); it appears in her open page without a reload. On a
phone (375 px) the week is a list of days and the page itself never scrolls sideways."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import zoneinfo
from urllib.parse import quote

import pytest
from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentEvent, AppointmentType, Calendar, WorkingHours
from tests.conftest import BOB_HOST, PASSWORD
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes
NY = zoneinfo.ZoneInfo("America/New_York")
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def committed_calendar(world, django_db_blocker):
    """Bob's technician, open around the clock (the server runs on the real clock), and a
    half-hour visit bookable at once; committed so the server sees them, removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        tom = Calendar.objects.create(name=f"Tom {tag}", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(0),
                                                       end=dt.time(23, 59, 59)) for d in range(7)])
        type_ = AppointmentType.objects.create(name=f"Visit {tag}", duration_minutes=30, step_minutes=30,
                                               min_notice_minutes=0, horizon_days=7)
        type_.calendars.add(tom)
    yield tom, type_
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        Appointment.objects.filter(calendar=tom).delete()
        type_.delete()
        tom.delete()


def _agent_books(django_db_blocker, type_, calendar, start) -> None:
    """What the console's booking does, from a thread of its own (committed, pushed after commit):
    this thread holds Playwright's event loop."""
    from calendars.services.booking import appointment_book

    def book():
        from django.db import connection

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            appointment_book(type_=type_, calendar=calendar, start=start, by="ana@switchboard.test",
                             name="Quinn Rivera", phone="+12125550199")
        connection.close()

    thread = threading.Thread(target=book)
    thread.start()
    thread.join(20)


def _log_in(context, base: str, email: str, then: str):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next={quote(then)}")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{then}")
    page.locator("html[data-calendar-socket=connected]").wait_for(state="attached", timeout=10000)
    return page


def test_an_agents_booking_appears_in_the_open_week_and_the_phone_does_not_overflow(
        world, asgi_server, celery_worker, browser, django_db_blocker, committed_calendar):
    from calendars.selectors import appointment_slots

    tom, type_ = committed_calendar
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        slot = appointment_slots(type_, count=1)[0]
    day = slot.start.astimezone(NY).date()
    base = f"http://{BOB_HOST}:{asgi_server}"
    week = f"/schedule/{tom.pk}/?view=week&date={day.isoformat()}"
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = _log_in(desk, base, "bea@bobs.test", week)
        assert page.locator("h1").inner_text() == tom.name
        assert page.locator(f'section.cal-col[data-date="{day.isoformat()}"]').count() == 1
        assert page.locator("html[data-calendar=placed]").count() == 1
        page.evaluate("window.__notReloaded = true")

        _agent_books(django_db_blocker, type_, tom, slot.start)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            booked = Appointment.objects.get(calendar=tom, status="booked")

        block = page.locator(f'section.cal-col[data-date="{day.isoformat()}"] a.cal-appt[data-appointment="{booked.pk}"]')
        block.wait_for(timeout=10000)
        assert "Quinn Rivera" in block.inner_text()
        assert page.evaluate("window.__notReloaded") is True  # it came without a reload
        # Placed by the script from its real time: its top is inside the day's column.
        box, column = block.bounding_box(), page.locator(f'section.cal-col[data-date="{day.isoformat()}"] .cal-day').bounding_box()
        local = slot.start.astimezone(NY)
        expected = column["y"] + column["height"] * (local.hour * 60 + local.minute) / (24 * 60)
        assert abs(box["y"] - expected) < column["height"] / 24, (box, column, local)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "portal-calendar-week-desktop.png"), full_page=True)

        # Her phone: the week as a list of days, no sideways scrolling of the page.
        mobile = _log_in(phone, base, "bea@bobs.test", week)
        item = mobile.locator(f'.cal-agenda li[data-appointment="{booked.pk}"]')
        item.wait_for()
        assert "Quinn Rivera" in item.inner_text()
        assert mobile.locator(".cal-day").first.is_hidden()  # no timelines: the list
        assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        mobile.screenshot(path=str(ARTIFACTS / "portal-calendar-week-phone.png"), full_page=True)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            # A timeline entry as notices write them: a SID is one long word.
            AppointmentEvent.objects.create(appointment=booked, kind="confirmation_sent", by="notices",
                                            detail="Text message to +12125550199 (SM" + "0" * 32 + ").")
        for path in (f"/schedule/{tom.pk}/?view=day&date={day.isoformat()}", f"/schedule/day/?date={day.isoformat()}",
                     "/schedule/", f"/schedule/book/?type={type_.pk}", f"/schedule/appointments/{booked.pk}/",
                     f"/schedule/{tom.pk}/hours"):
            mobile.goto(f"{base}{path}")
            assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        mobile.goto(f"{base}/schedule/{tom.pk}/?view=day&date={day.isoformat()}")
        mobile.locator(f'a.cal-appt[data-appointment="{booked.pk}"]').wait_for()
        mobile.screenshot(path=str(ARTIFACTS / "portal-calendar-day-phone.png"), full_page=True)
        for name in ("portal-calendar-week-desktop", "portal-calendar-week-phone", "portal-calendar-day-phone"):
            assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
    finally:
        desk.close()
        phone.close()
