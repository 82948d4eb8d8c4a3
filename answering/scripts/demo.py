"""The demo clients' scripts, as the JSON documents ``script_import_json`` takes.

``seed(slug)`` runs inside the client's schema and is idempotent: it adds the scripts the
client does not have and leaves the others (perhaps edited since) alone. The clinic's and the
contractor's scripts book on an appointment step the types of ``calendars.demo``, which is
seeded first (a script may only offer types the client has).
"""

from __future__ import annotations

from answering.models import Script
from answering.scripts.services import script_import_json
from calendars.demo import calendars_demo_seed


def _ask_name_and_number(next_step: str, *, es: bool = False) -> dict:
    say = {"en": "May I have your name and the best number to reach you?"}
    if es:
        say["es"] = "¿Me puede dar su nombre y el mejor número para comunicarnos con usted?"
    return {
        "key": "contact", "say": say,
        "fields": [
            {"name": "caller_name", "label": "Caller's name", "type": "text", "required": True, "max_length": 120},
            {"name": "callback_number", "label": "Callback number", "type": "phone", "required": True},
        ],
        "next": next_step,
    }


NORTHSIDE = [
    {
        "key": "emergency", "name": "Emergency service", "used_for": ["open:1", "after_hours:1"],
        "description": "No heat, a leak, a gas smell: safety first, then the on-call technician.",
        "steps": [
            {"key": "greet", "say": {"en": "{greeting_time}, {client_name} emergency line, this is {agent_first_name}. "
                                           "Is anyone in danger right now?"},
             "fields": [{"name": "anyone_in_danger", "label": "Anyone in danger?", "type": "yes_no", "required": True}],
             "branches": [{"field": "anyone_in_danger", "equals": "yes", "goto": "call_911"},
                          {"field": "anyone_in_danger", "equals": "no", "goto": "gas"}]},
            {"key": "call_911", "say": {"en": "Please hang up and call 911 now. If you smell gas, leave the building "
                                              "first. I am alerting our on-call technician."},
             "next": "contact"},
            {"key": "gas", "say": {"en": "Do you smell gas?"},
             "fields": [{"name": "gas_smell", "label": "Gas smell?", "type": "yes_no", "required": True}],
             "branches": [{"field": "gas_smell", "equals": "yes", "goto": "gas_safety"},
                          {"field": "gas_smell", "equals": "no", "goto": "problem"}]},
            {"key": "gas_safety", "say": {"en": "Please leave the building now and do not switch anything on or off. "
                                                "We are dispatching a technician."},
             "next": "contact"},
            {"key": "problem", "say": {"en": "What is happening? No heat, no hot water, or a leak?"},
             "fields": [{"name": "problem", "label": "Problem", "type": "choice", "required": True,
                         "options": ["No heat", "No hot water", "Leak", "Other"]},
                        {"name": "details", "label": "Details", "type": "text", "max_length": 500}],
             "next": "contact"},
            _ask_name_and_number("address"),
            {"key": "address", "say": {"en": "What is the address of the property?"},
             "fields": [{"name": "address", "label": "Service address", "type": "address", "required": True}],
             # Danger or gas: the on-call technician now; anything else: an urgent message.
             "branches": [{"field": "anyone_in_danger", "equals": "yes", "goto": "dispatch"},
                          {"field": "gas_smell", "equals": "yes", "goto": "dispatch"}],
             "next": "callback"},
            {"key": "dispatch", "say": {"en": "I am dispatching the on-call technician now; they will call you "
                                              "at {caller_number} if that number is best."},
             "end": {"action": "dispatch", "urgency": "urgent", "category": "Emergency"}},
            {"key": "callback", "say": {"en": "Thank you. The on-call technician will call you back within "
                                              "30 minutes."},
             "end": {"action": "message", "urgency": "urgent", "category": "Emergency"}},
        ],
    },
    {
        "key": "service", "name": "Service request", "used_for": ["open:2"], "is_default": True,
        "steps": [
            {"key": "greet", "say": {"en": "{greeting_time}, {client_name}, this is {agent_first_name}. "
                                           "What can we help you with?"},
             "fields": [{"name": "service", "label": "Service", "type": "choice", "required": True,
                         "options": ["Heating", "Plumbing", "Maintenance plan", "Estimate"]},
                        {"name": "details", "label": "Details", "type": "text", "max_length": 500}],
             "next": "contact"},
            _ask_name_and_number("address"),
            {"key": "address", "say": {"en": "What is the address of the property?"},
             "fields": [{"name": "address", "label": "Service address", "type": "address", "required": True}],
             "next": "visit"},
            # Booked while the caller is on the line (calendars/demo.py has the type); the
            # message still goes to the office, booked or not.
            {"key": "visit", "kind": "appointment", "appointment_types": ["Repair visit"],
             "say": {"en": "A technician can come out: which of these arrival windows suits you?"},
             "end": {"action": "message", "urgency": "normal", "category": "Service request"}},
        ],
    },
]

BAYVIEW = [
    {
        "key": "appointment", "name": "Appointments", "used_for": ["open:1"], "is_default": True,
        "steps": [
            {"key": "greet", "say": {
                "en": "{greeting_time}, {client_name}, this is {agent_first_name}. Are you a current patient?",
                "es": "{greeting_time}, {client_name}, habla {agent_first_name}. ¿Es usted paciente de la clínica?"},
             "fields": [{"name": "current_patient", "label": "Current patient?", "type": "yes_no", "required": True}],
             "next": "contact"},
            _ask_name_and_number("reason", es=True),
            {"key": "reason", "say": {"en": "What is the appointment for, and when would you like to come in?",
                                      "es": "¿Para qué es la cita y cuándo le gustaría venir?"},
             "fields": [{"name": "date_of_birth", "label": "Date of birth", "type": "date", "required": True},
                        {"name": "reason", "label": "Reason", "type": "choice", "required": True,
                         "options": ["Check-up", "Sick visit", "Vaccination", "Follow-up"]}],
             "next": "book"},
            {"key": "book", "kind": "appointment", "appointment_types": ["New patient", "Follow-up"],
             "say": {"en": "Let me find you a time. Which of these suits you?",
                     "es": "Le busco un horario. ¿Cuál de estos le conviene?"},
             "end": {"action": "message", "urgency": "normal", "category": "Appointment request"}},
        ],
    },
    {
        "key": "nurse", "name": "After-hours nurse", "used_for": ["after_hours:1"],
        "steps": [
            {"key": "greet", "say": {
                "en": "{greeting_time}, {client_name} after-hours line, this is {agent_first_name}. "
                      "Is this a medical emergency — trouble breathing, chest pain, heavy bleeding?",
                "es": "{greeting_time}, línea fuera de horario de {client_name}, habla {agent_first_name}. "
                      "¿Es una emergencia médica: dificultad para respirar, dolor de pecho, sangrado fuerte?"},
             "fields": [{"name": "emergency", "label": "Medical emergency?", "type": "yes_no", "required": True}],
             "branches": [{"field": "emergency", "equals": "yes", "goto": "call_911"},
                          {"field": "emergency", "equals": "no", "goto": "contact"}]},
            {"key": "call_911", "say": {"en": "Please hang up and dial 911 now.",
                                        "es": "Por favor cuelgue y marque el 911 ahora."},
             "end": {"action": "log"}},
            _ask_name_and_number("symptoms", es=True),
            {"key": "symptoms", "say": {"en": "Tell me the patient's symptoms; the on-call nurse will call you back.",
                                        "es": "Dígame los síntomas del paciente; la enfermera de guardia le "
                                              "devolverá la llamada."},
             "fields": [{"name": "patient_name", "label": "Patient's name", "type": "text", "required": True},
                        {"name": "date_of_birth", "label": "Date of birth", "type": "date", "required": True},
                        {"name": "symptoms", "label": "Symptoms", "type": "text", "required": True,
                         "max_length": 1000}],
             "end": {"action": "dispatch", "urgency": "urgent", "category": "Nurse call-back"}},
        ],
    },
]

HARPER = [
    {
        "key": "intake", "name": "New client intake", "used_for": ["open:1"],
        "description": "Never give legal advice: take the details for an attorney.",
        "steps": [
            {"key": "greet", "say": {"en": "{greeting_time}, {client_name}, this is {agent_first_name}. I can take "
                                           "your details for an attorney; I am not able to give legal advice."},
             "fields": [{"name": "practice_area", "label": "Practice area", "type": "choice", "required": True,
                         "options": ["Family law", "Estate planning", "Business contracts", "Other"]}],
             "next": "conflict"},
            {"key": "conflict", "say": {"en": "What are the names of the other parties involved? We check them "
                                              "before any consultation."},
             "fields": [{"name": "other_parties", "label": "Other parties", "type": "text", "required": True}],
             "next": "contact"},
            {**_ask_name_and_number("email"), "key": "contact"},
            {"key": "email", "say": {"en": "And an email address for the consultation details?"},
             "fields": [{"name": "email", "label": "Email", "type": "email"},
                        {"name": "court_date", "label": "Upcoming court date, if any", "type": "date"}],
             "end": {"action": "message", "urgency": "normal", "category": "New client intake"}},
        ],
    },
    {
        "key": "existing", "name": "Existing client", "used_for": ["open:2"], "is_default": True,
        "steps": [
            {**_ask_name_and_number("matter"), "key": "contact",
             "say": {"en": "{greeting_time}, {client_name}, this is {agent_first_name}. May I have your name and "
                           "the best number to reach you?"}},
            {"key": "matter", "say": {"en": "Which attorney handles your matter, and what is the message? "
                                            "(No legal advice: take the message.)"},
             "fields": [{"name": "attorney", "label": "Attorney", "type": "choice", "required": True,
                         "options": ["Ms. Harper", "Mr. Cole", "Not sure"]},
                        {"name": "message", "label": "Message", "type": "text", "required": True, "max_length": 1000}],
             "end": {"action": "message", "urgency": "normal", "category": "Existing client"}},
        ],
    },
    {
        "key": "urgent", "name": "Urgent after-hours matter", "used_for": ["after_hours:1"],
        "steps": [
            {"key": "greet", "say": {"en": "{greeting_time}, {client_name} after-hours line, this is "
                                           "{agent_first_name}. Has someone been arrested?"},
             "fields": [{"name": "arrest", "label": "Arrest?", "type": "yes_no", "required": True}],
             "branches": [{"field": "arrest", "equals": "yes", "goto": "arrest"},
                          {"field": "arrest", "equals": "no", "goto": "other"}]},
            {"key": "arrest", "say": {"en": "Where is the person held, and what is their full name?"},
             "fields": [{"name": "person_held", "label": "Person held", "type": "text", "required": True},
                        {"name": "facility", "label": "Where", "type": "text", "required": True}],
             "next": "contact"},
            {"key": "other", "say": {"en": "Briefly, what is the urgent matter? An attorney will call you back."},
             "fields": [{"name": "matter", "label": "Matter", "type": "text", "required": True}],
             "next": "contact"},
            _ask_name_and_number("done"),
            {"key": "done", "say": {"en": "Thank you. The attorney on call will phone you back shortly."},
             "end": {"action": "dispatch", "urgency": "urgent", "category": "Urgent matter"}},
        ],
    },
]

SCRIPTS = {"northside": NORTHSIDE, "bayview": BAYVIEW, "harpercole": HARPER}


def scripts_demo_seed(slug: str) -> int:
    """Import the demo scripts of client ``slug`` that it does not have yet (call inside its
    schema); a script someone has edited since is left alone. Returns how many were added."""
    calendars_demo_seed(slug)  # the types the appointment steps offer
    added = 0
    for document in SCRIPTS.get(slug, []):
        if not Script.objects.filter(key=document["key"]).exists():
            script_import_json(data=document)
            added += 1
    return added
