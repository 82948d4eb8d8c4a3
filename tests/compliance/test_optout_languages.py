"""Opt-outs in the client's languages: Spanish keywords and phrasings, replies in the texter's
language, accents and case, ambiguous texts flagged for a person, the demo's Spanish clinic."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client as HttpClient
from django_tenants.utils import schema_context, tenant_context

from answering.management.commands import simulate_sms
from answering.twilio import simulator
from compliance.models import DncEntry, LedgerEntry
from compliance.platform.models import SmsKeyword
from compliance.rules import OptOutSource, sms_text_normalize
from compliance.services import inbound_sms_handle
from tests.conftest import PLATFORM_HOST

from .conftest import NY

pytestmark = pytest.mark.django_db

SPANISH_CONFIRMATION = "se ha dado de baja"


def _sms(client, body, number=NY):
    with tenant_context(client):
        return inbound_sms_handle(client=client, from_number=number, body=body)


def _active(client, number=NY):
    with tenant_context(client):
        return DncEntry.objects.filter(number=number, removed_at__isnull=True).first()


@pytest.mark.parametrize("body", [
    "ALTO", "alto", "Alto.", "¡ALTO!", "Alto por favor", "PARAR", "Pare", "CANCELAR", "detener", "BAJA", "Baja.",
    "NO MAS", "No más", "NO MÁS!!", "no mas.", "ELIMINAR", "Salir",
])
def test_spanish_keywords_opt_out_and_confirm_in_spanish(world, body):
    reply = _sms(world.charlies, body)  # Charlie's clinic serves English and Spanish
    assert reply and "Charlie's Clinic" in reply and SPANISH_CONFIRMATION in reply and "INICIO" in reply
    entry = _active(world.charlies)
    assert entry is not None and entry.source == OptOutSource.SMS_KEYWORD and entry.reason == body.strip()
    assert _sms(world.charlies, body) is None  # one confirmation at most
    with tenant_context(world.charlies):
        assert LedgerEntry.objects.filter(event="opt_out", number=NY).count() == 1


@pytest.mark.parametrize("body", [
    "No me manden más mensajes", "Por favor dejen de enviarme mensajes", "Número equivocado",
    "Quiero darme de baja", "no me escriban mas por favor", "DÉJENME EN PAZ",
])
def test_spanish_phrasings_that_clearly_revoke_opt_out(world, body):
    reply = _sms(world.charlies, body)
    assert reply and SPANISH_CONFIRMATION in reply
    assert _active(world.charlies).source == OptOutSource.SMS_TEXT


@pytest.mark.parametrize("body", ["INICIO", "Comenzar", "reanudar", "ALTA", "Sí", "si", "SI!"])
def test_spanish_re_subscribe_keywords_lift_a_text_opt_out_and_answer_in_spanish(world, body):
    _sms(world.charlies, "ALTO")
    reply = _sms(world.charlies, body)
    assert reply and "Charlie's Clinic" in reply and "vuelto a suscribir" in reply and "ALTO" in reply
    assert _active(world.charlies) is None


@pytest.mark.parametrize("body", ["AYUDA", "ayuda?", "Información", "INFORMACION"])
def test_spanish_help_answers_in_spanish_with_the_clients_number(world, body):
    reply = _sms(world.charlies, body)
    assert reply and "Charlie's Clinic" in reply and "(312) 555-0113" in reply and "ALTO" in reply
    assert "llame" in reply
    assert _active(world.charlies) is None


def test_the_reply_speaks_the_keywords_language_only_where_the_client_serves_it(world):
    # Charlie's serves Spanish, but STOP is English: the English reply.
    reply = _sms(world.charlies, "STOP")
    assert "unsubscribed" in reply and SPANISH_CONFIRMATION not in reply
    # Bob's plumbing serves English only: ALTO still opts out (a revocation in any language
    # we know is honoured), and the reply is in the client's language.
    reply = _sms(world.bobs, "ALTO")
    assert reply and "unsubscribed" in reply and "START" in reply
    assert _active(world.bobs).source == OptOutSource.SMS_KEYWORD
    assert "you are subscribed to our texts again" in _sms(world.bobs, "SÍ")


@pytest.mark.parametrize("body", [
    "Cancelar mi cita del martes", "No, más tarde", "Si puedo ir a las 3", "Baja la fiebre con esto?",
    "Salir temprano hoy?", "Gracias", "¿Pueden llamarme mañana?", "Mi mamá se siente mejor",
])
def test_ordinary_spanish_messages_are_not_keywords(world, body):
    # Words with everyday meanings (cancelar, baja, salir, no más, sí) count only as the whole
    # message: a patient cancelling an appointment is not opting out of the clinic.
    assert _sms(world.charlies, body) is None
    assert _active(world.charlies) is None


@pytest.mark.parametrize("body", [
    "I'm not interested", "No thanks", "can you guys stop?", "no gracias", "Ya basta", "No me interesa",
    "this is spam",
])
def test_ambiguous_texts_are_flagged_for_a_person_not_acted_on(world, body):
    assert _sms(world.charlies, body) is None  # not a keyword: the text goes on as a message
    assert _active(world.charlies) is None
    with tenant_context(world.charlies):
        [flag] = LedgerEntry.objects.filter(event="opt_out_review", number=NY)
    assert flag.detail == body and flag.reasons[0]["code"] == "possible_opt_out" and flag.asked_by == f"sms from {NY}"
    # Already opted out: nothing left to review.
    _sms(world.charlies, "ALTO")
    assert _sms(world.charlies, body) is None
    with tenant_context(world.charlies):
        assert LedgerEntry.objects.filter(event="opt_out_review", number=NY).count() == 1


def test_accents_case_and_punctuation_fold_to_one_form():
    assert sms_text_normalize("¡NO MÁS!") == "no mas"
    assert sms_text_normalize("  Sí.  ") == "si"
    assert sms_text_normalize("Información") == "informacion"
    assert sms_text_normalize("Dont’t") == "dontt"
    assert sms_text_normalize("ＳＴＯＰ") == "stop"  # full-width letters from some keyboards


def test_keywords_typed_in_the_admin_with_accents_are_stored_folded(world):
    keyword = SmsKeyword.objects.create(text="Arrête", action="opt_out", match="first_word", language="fr")
    assert keyword.text == "arrete"
    assert _sms(world.bobs, "ARRÊTE!") is not None
    assert _active(world.bobs).source == OptOutSource.SMS_KEYWORD


def test_a_keyword_differing_only_in_case_or_accents_is_refused_as_a_duplicate(world):
    with pytest.raises(ValidationError) as refused:
        SmsKeyword(text="NO MÁS", action="opt_out", match="exact", language="es").full_clean()
    assert "already exists" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        SmsKeyword(text="¡!", action="opt_out", match="exact").full_clean()
    assert "at least one letter" in str(refused.value)


def test_every_seeded_keyword_is_stored_in_its_folded_form(world):
    keywords = list(SmsKeyword.objects.all())
    assert {k.language for k in keywords} >= {"en", "es"}
    assert all(k.text == sms_text_normalize(k.text) for k in keywords)
    spanish = {k.text: k.action for k in keywords if k.language == "es"}
    for word in ("alto", "parar", "pare", "cancelar", "detener", "baja", "no mas", "eliminar", "salir"):
        assert spanish[word] == "opt_out"
    for word in ("inicio", "comenzar", "reanudar", "alta", "si"):
        assert spanish[word] == "opt_in"
    for word in ("ayuda", "informacion"):
        assert spanish[word] == "help"


def test_texting_alto_to_the_demo_spanish_clinic_opts_out(world, monkeypatch, capsys):
    """The demo's Bayview clinic serves Spanish: `simulate_sms --body ALTO` to its number opts out,
    through the signed webhook (the Django test client stands in for the running server)."""
    call_command("seed_demo")
    monkeypatch.setattr(simulate_sms, "http_transport",
                        lambda server, host: simulator.test_client_transport(HttpClient(), host or PLATFORM_HOST))
    call_command("simulate_sms", "--to", "+13055550102", "--from", "+13055559876", "--body", "ALTO")
    out = capsys.readouterr().out
    assert "Bayview" in out and SPANISH_CONFIRMATION in out
    with schema_context("bayview"):
        entry = DncEntry.objects.get(number="+13055559876", removed_at__isnull=True)
        assert entry.source == OptOutSource.SMS_KEYWORD
        assert LedgerEntry.objects.filter(event="opt_out", number="+13055559876").exists()
    call_command("simulate_sms", "--to", "+13055550102", "--from", "+13055559876", "--body", "INICIO")
    assert "vuelto a suscribir" in capsys.readouterr().out
    with schema_context("bayview"):
        assert not DncEntry.objects.filter(number="+13055559876", removed_at__isnull=True).exists()
