"""Forms of the compliance portal pages and the admin's "check a number"."""

from __future__ import annotations

from django import forms

from compliance.models import LedgerEntry
from compliance.rules import Channel, Purpose


class DncAddForm(forms.Form):
    number = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"placeholder": "(212) 555-0142"}))
    reason = forms.CharField(max_length=300, required=False)


class DncImportForm(forms.Form):
    file = forms.FileField(help_text="CSV: number[,reason] per line; a header row is fine.")


class LedgerSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Number, asker or reason code")
    event = forms.ChoiceField(required=False, choices=[("", "Any event")])
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), ("allow", "Allow"), ("deny", "Deny")])
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [("", "Any event"), *LedgerEntry.Event.choices]


class CheckNumberForm(forms.Form):
    number = forms.CharField(max_length=40)
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.TELEMARKETING)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.VOICE)
    state = forms.CharField(max_length=2, required=False, label="Contact's state (optional)")
