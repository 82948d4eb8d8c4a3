from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.phone import to_e164


@pytest.mark.parametrize(("raw", "e164"), [
    ("(212) 555-0101", "+12125550101"),  # the fictional 555-01xx range is accepted on purpose
    ("+1 415 555 2671", "+14155552671"),
    ("212.867.5309", "+12128675309"),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_numbers_become_e164(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "+1 555", "hello", "+1 212 555 0200 999"])
def test_bad_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        to_e164(raw)
