"""Seed the Spanish SMS keywords and the phrases flagged for a person (English and Spanish).

Twilio answers only English keywords by default (STOP, UNSUBSCRIBE, END, QUIT, STOPALL,
REVOKE, OPTOUT, CANCEL; START, UNSTOP; HELP, INFO) and leaves other languages to the
sender (Advanced Opt-Out's custom keywords), so the Spanish ones are ours to honour.
Texts are stored folded (lowercase, no accents: “no más” → “no mas”), the form
compliance.rules.sms_text_normalize gives an inbound text.

Words with an everyday meaning opt out only as the whole message (“Cancelar” does, “Cancelar
mi cita del martes” does not); unambiguous commands (ALTO, PARAR, PARE, DETENER) also with
words after them (“Alto por favor”). Re-subscribing is always the whole message.
"""

from django.db import migrations

ES = "es"
KEYWORDS = (
    [(w, "opt_out", "first_word", ES) for w in ("alto", "parar", "pare", "detener")]
    + [(w, "opt_out", "exact", ES) for w in ("cancelar", "baja", "no mas", "eliminar", "salir")]
    + [(w, "opt_out", "phrase", ES) for w in (
        "no me manden mas", "no me envien mas", "no me escriban mas", "no me llamen mas", "no me contacten",
        "no mas mensajes", "no mas textos", "no mas llamadas",
        "dejen de enviarme", "dejen de mandarme", "dejen de escribirme", "dejen de llamarme",
        "deje de enviarme", "deje de mandarme", "deje de escribirme", "deje de llamarme",
        "dejenme en paz", "no me molesten", "numero equivocado",
        "darme de baja", "denme de baja", "dar de baja", "cancelar suscripcion", "cancelar mensajes",
        "borrenme", "quitenme de la lista", "saquenme de la lista", "revoco mi consentimiento")]
    + [(w, "opt_in", "exact", ES) for w in ("inicio", "comenzar", "reanudar", "alta", "si")]
    + [(w, "help", "first_word", ES) for w in ("ayuda", "informacion")]
    # Possible opt-outs, acted on by nobody but flagged in the ledger for a person to read.
    + [(w, "review", "phrase", "en") for w in (
        "stop", "unsubscribe", "opt out", "optout", "not interested", "no thanks", "no thank you",
        "dont want these", "do not want these", "block this number", "spam")]
    + [(w, "review", "phrase", ES) for w in (
        "basta", "no gracias", "no me interesa", "no quiero recibir", "no me manden", "no me envien",
        "no me escriban", "no me llamen", "dejen de", "deje de", "bloquear")]
)


def seed(apps, schema_editor):
    SmsKeyword = apps.get_model("compliance_platform", "SmsKeyword")
    taken = set(SmsKeyword.objects.values_list("text", "match"))  # a platform admin may have added some
    SmsKeyword.objects.bulk_create(
        SmsKeyword(text=t, action=a, match=m, language=lang) for t, a, m, lang in KEYWORDS if (t, m) not in taken)


def unseed(apps, schema_editor):
    SmsKeyword = apps.get_model("compliance_platform", "SmsKeyword")
    for text, action, match, language in KEYWORDS:
        SmsKeyword.objects.filter(text=text, action=action, match=match, language=language).delete()


class Migration(migrations.Migration):
    dependencies = [("compliance_platform", "0003_smskeyword_language")]
    operations = [migrations.RunPython(seed, unseed)]
