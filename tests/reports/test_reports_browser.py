"""The client's report page in a real browser (Chromium): uPlot draws every chart (a canvas
with something on it) from the project's own static files, and the numbers in the tables
beside them are the figures module's — on a desk and on a phone (375 px)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from reports.charts import CHARTS
from reports.exports import cell
from reports.figures import FIGURES, Period, report_build
from tests.conftest import BOB_HOST, PASSWORD
from tests.processes import ARTIFACTS
from tests.reports.conftest import DAY, seed_day, unseed

pytestmark = pytest.mark.processes

# Pixels of a canvas that are not transparent: a chart that drew lines, dots, axes.
INK = """el => { const c = el.querySelector('canvas'); if (!c || !c.width) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""


@pytest.fixture
def committed_day(world, django_db_blocker):
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        made = seed_day(world, "br")
    yield made
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        unseed(made)


def _log_in(context, base: str):
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/accounts/login/?next=/")
    page.locator("#id_username").fill("bea@bobs.test")
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    return page, outside


@pytest.mark.parametrize(("viewport", "by"), [({"width": 1280, "height": 900}, "hour"),
                                              ({"width": 375, "height": 812}, "day")], ids=["desk", "phone"])
def test_the_report_draws_its_charts_with_the_figures_beside_them(world, asgi_server, browser, committed_day,
                                                                  django_db_blocker, viewport, by):
    base = f"http://{BOB_HOST}:{asgi_server}"
    context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 500)
    errors: list[str] = []
    try:
        page, outside = _log_in(context, base)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        # The home's week at a glance links to the reports.
        assert page.locator("#week-glance").is_visible()
        page.goto(f"{base}/reports/?from={DAY}&to={DAY}&by={by}")
        charts = page.locator(".chart[data-drawn='1']")
        charts.first.wait_for(timeout=10000)
        expected_charts = [c[0] for c in CHARTS]  # the day dialed: the outbound chart too
        assert page.locator(".chart").count() == len(expected_charts) == charts.count()
        for key in expected_charts:
            chart = page.locator(f".chart[data-chart='{key}']")
            assert chart.locator("canvas").count() == 1
            assert chart.evaluate(INK) > 200, f"chart {key} is empty"
            box = chart.bounding_box()
            assert box["width"] <= viewport["width"]  # fits the screen, phone included
        legend = page.locator(".chart[data-chart='calls'] .u-legend").inner_text()
        assert "Offered" in legend and "Answered" in legend

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            report = report_build(Period(DAY, DAY, world.bobs.time_zone), by)
        # The totals beside the charts are the figures module's, every one of them.
        for figure in FIGURES:
            shown = page.locator(f"tfoot td[data-figure='{figure.name}']").get_attribute("data-value")
            value = cell(figure, report.total.figures[figure.name])
            assert shown == ("" if value is None else str(value)), figure.name
        # And each row's: the repeated hour of the fall-back day has its own row.
        rows = page.locator("section[data-section='inbound'] tbody tr")
        assert rows.count() == len(report.rows)
        for i, row in enumerate(report.rows):
            line = rows.nth(i)
            assert line.locator("th").inner_text() == row.label
            assert line.locator("td[data-figure='answered']").get_attribute("data-value") == str(
                row.figures["answered"])
        if by == "hour":
            assert page.locator("tbody th", has_text="2026-11-01 01:00 EST").count() >= 1
        assert page.locator("tfoot td[data-figure='service_level']").first.inner_text() == "66.7 %"
        assert outside == [] and errors == []  # nothing from another host, no script error (CSP included)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"reports-{by}-{viewport['width']}.png"), full_page=True)
    finally:
        context.close()
