"""The report's query: ``?from=YYYY-MM-DD&to=YYYY-MM-DD&by=day|hour|agent|campaign``. Parses
only; ``figures.period_check`` says what a period may be."""

from __future__ import annotations

import datetime as dt

from django import forms

from portal.forms import day_field
from reports import figures

DEFAULT_DAYS = 28  # four weeks to today, when the page is opened bare


class ReportForm(forms.Form):
    by = forms.ChoiceField(label="By", choices=[(g, g.capitalize()) for g in figures.GROUPINGS], required=False)

    def __init__(self, data=None, *, time_zone: str, groupings: tuple[str, ...] = figures.GROUPINGS):
        super().__init__(data)
        # "from" is a Python keyword: the fields are added by name.
        self.fields = {"from": day_field("From"), "to": day_field("To"), **self.fields}
        self.fields["by"].choices = [(g, g.capitalize()) for g in groupings]
        self.time_zone = time_zone
        self.today = dt.datetime.now(figures.Period(dt.date.today(), dt.date.today(), time_zone).tz).date()
        self.initial = {"from": self.today - dt.timedelta(days=DEFAULT_DAYS - 1), "to": self.today, "by": "day"}

    def period(self) -> tuple[figures.Period, str]:
        """The period and grouping asked for (the defaults for what is not given), or
        ``PeriodRefused`` naming the field and why."""
        if self.is_bound and not self.is_valid():
            name, messages = next(iter(self.errors.items()))
            raise figures.PeriodRefused(name, messages[0])
        data = self.cleaned_data if self.is_bound else {}
        start = data.get("from") or self.initial["from"]
        end = data.get("to") or (self.today if data.get("from") else self.initial["to"])
        by = data.get("by") or "day"
        return figures.period_check(start, end, self.time_zone, by), by

    def query(self, period: figures.Period, by: str) -> str:
        """The query string of this period (the export links, the grouping switch)."""
        return f"from={period.start.isoformat()}&to={period.end.isoformat()}&by={by}"
