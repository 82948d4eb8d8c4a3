"""Outgoing webhooks refuse private, loopback, link-local, multicast and reserved addresses when
the allow setting is off (production): when an endpoint is saved, with a clear answer, and again
at send time (DNS may have changed since). Redirects are never followed."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from switchboard import outbound as guard
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url, address", [
    ("http://127.0.0.1:8099/hooks", "127.0.0.1"),
    ("https://10.1.2.3/hooks", "10.1.2.3"),
    ("http://192.168.0.10/", "192.168.0.10"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # the cloud's metadata service
    ("http://[::1]:8000/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
    ("http://0.0.0.0/", "0.0.0.0"),
    ("http://224.0.0.1/", "224.0.0.1"),
    ("http://localhost:8000/hooks", None),  # a name resolving to loopback
])
def test_private_addresses_are_refused_when_an_endpoint_is_added(bobs, production, url, address):
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(url=url)
    [why] = refused.value.message_dict["url"]
    assert "public addresses only" in why and (address is None or address in why)
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_loopback_is_refused(bobs, production, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(ValidationError, match=r"hooks\.example\.com.+127\.0\.0\.1.+loopback"):
        services.endpoint_create(url="https://hooks.example.com/switchboard")


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/x", "https://"), ("https:///nohost", "no host"),
    ("https://user:pw@example.com/", "passwords"), ("https://no-such-host.invalid/", "does not resolve"),
])
def test_malformed_urls_get_a_clear_answer(bobs, production, url, why):
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(url=url)
    assert why in refused.value.message_dict["url"][0]


def test_public_addresses_are_allowed():
    assert guard.address_refusal("93.184.216.34") == "" and guard.address_refusal("2606:4700::1111") == ""


def test_the_send_checks_again_and_refuses_an_address_that_became_private(bobs, receiver, settings):
    endpoint = bobs.endpoint(receiver.url)  # allowed when added (the setting on) …
    settings.OUTBOUND_ALLOW_PRIVATE = False  # … then production rules: as if its DNS moved to 127.0.0.1
    event = bobs.emit()
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(message=event)
    assert delivery.status == "failed" and "127.0.0.1" in delivery.last_error
    endpoint.refresh_from_db()
    assert endpoint.active  # our refusal, not the receiver's failure: the endpoint stays as it was


def test_the_allow_setting_lets_development_send_to_localhost(bobs, receiver):
    bobs.endpoint(receiver.url.replace("127.0.0.1", "localhost"))
    bobs.emit()
    assert len(receiver.received) == 1


def test_redirects_are_not_followed(bobs, receiver):
    receiver.answer(307)
    bobs.endpoint(receiver.url)
    event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    assert len(receiver.received) == 1 and delivery.status == "queued" and delivery.last_status_code == 307
