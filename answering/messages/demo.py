"""The demo clients' people, rotas, escalation policies and delivery rules (run in the client's schema).

Northside (the contractor) is the one "Done when" walks through: an after-hours emergency
texts and calls the on-call technician, then the owner, twice over, then the supervisors.
Waits are short so the escalation can be watched in a demo. Idempotent: a client that
already has people is left as it is (its staff may have edited them).
"""

from __future__ import annotations

from datetime import date, time

from django.db import transaction

from answering.models import (
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Person,
    Rotation,
    RotationMember,
    Team,
)

# (name, email, mobile, phone)
PEOPLE = {
    "northside": [("Mike Rivera", "mike@northside.example", "+12125550141", "+12125550142"),
                  ("Dana Okafor", "dana@northside.example", "+12125550143", "+12125550144"),
                  ("Sal Northside (owner)", "sal@northside.example", "+12125550145", "+12125550146"),
                  ("Office", "office@northside.example", "", "")],
    "bayview": [("Nurse Ortiz", "ortiz@bayview.example", "+13055550141", "+13055550142"),
                ("Nurse Chen", "chen@bayview.example", "+13055550143", "+13055550144"),
                ("Front desk", "frontdesk@bayview.example", "", "")],
    "harpercole": [("Intake", "intake@harpercole.example", "", ""),
                   ("Attorney on call", "oncall@harpercole.example", "+13125550141", "+13125550142")],
}
# team, rota members (in order), daily or weekly, hand-over
ROTAS = {
    "northside": ("Technicians", ["Mike Rivera", "Dana Okafor"], "weekly", time(8)),
    "bayview": ("Nurses", ["Nurse Ortiz", "Nurse Chen"], "daily", time(7)),
}
# policy name, needs ack, repeat, [(channel, target, whom, wait minutes)]
POLICIES = {
    "northside": [
        ("Emergency: on-call tech, then the owner", True, 2, [
            ("sms", "on_call", "Technicians", 0), ("call", "on_call", "Technicians", 2),
            ("sms", "person", "Sal Northside (owner)", 0), ("call", "person", "Sal Northside (owner)", 3)]),
        ("Office email", False, 1, [("email", "person", "Office", 0)]),
    ],
    "bayview": [
        ("On-call nurse", True, 2, [("sms", "on_call", "Nurses", 0), ("call", "on_call", "Nurses", 5)]),
        ("Front desk email", False, 1, [("email", "person", "Front desk", 0)]),
    ],
    "harpercole": [
        ("Attorney on call", True, 1, [("sms", "person", "Attorney on call", 10)]),
        ("Intake email", False, 1, [("email", "person", "Intake", 0)]),
    ],
}
# urgency ("" any), when, policy
RULES = {
    "northside": [("urgent", "any", "Emergency: on-call tech, then the owner"), ("", "any", "Office email")],
    "bayview": [("urgent", "any", "On-call nurse"), ("", "any", "Front desk email")],
    "harpercole": [("urgent", "closed", "Attorney on call"), ("", "any", "Intake email")],
}


def messages_demo_seed(slug: str) -> None:
    if slug not in PEOPLE or Person.objects.exists():
        return
    with transaction.atomic():
        people = {name: Person.objects.create(name=name, email=email, mobile=mobile, phone=phone)
                  for name, email, mobile, phone in PEOPLE[slug]}
        teams = {}
        if slug in ROTAS:
            team_name, members, period, handover = ROTAS[slug]
            teams[team_name] = team = Team.objects.create(name=team_name)
            rota = Rotation.objects.create(team=team, period=period, handover_time=handover,
                                           starts_on=date(2026, 1, 5))  # a Monday
            for position, name in enumerate(members, start=1):
                RotationMember.objects.create(rotation=rota, person=people[name], position=position)
        policies = {}
        for name, needs_ack, repeat, steps in POLICIES[slug]:
            policies[name] = policy = EscalationPolicy.objects.create(name=name, needs_acknowledgement=needs_ack,
                                                                      repeat=repeat)
            for position, (channel, target, whom, wait) in enumerate(steps, start=1):
                EscalationStep.objects.create(
                    policy=policy, position=position, channel=channel, target=target, wait_minutes=wait,
                    person=people[whom] if target == "person" else None,
                    team=teams[whom] if target != "person" else None)
        for position, (urgency, when, policy) in enumerate(RULES[slug], start=1):
            DeliveryRule.objects.create(position=position, urgency=urgency, when=when, policy=policies[policy])
