"""On-call schedules and escalation policies: the verbs the portal's editors call.

Run inside the client's schema. Every verb validates first and writes nothing when it
refuses: a ``ValidationError`` whose messages name what is wrong ("Step 2: ..."), so the
editor can show them as they are. The rules they hold:

- a rotation has at least one active member, nobody twice;
- an override ends after it starts, and not in the past;
- a policy reaches somebody at every step (the step's person, or someone in its team, has
  an address for the step's channel), and one that repeats waits somewhere between rounds;
- a policy a delivery rule uses cannot be deleted;
- the delivery rules are never emptied: with no rule, every message (urgent ones too) would
  reach only the portal and nobody would be texted or called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from answering.models import (
    Channel,
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Override,
    Person,
    Rotation,
    RotationMember,
    Team,
)

ADDRESS_OF = {Channel.EMAIL: ("email", "email address"), Channel.SMS: ("mobile", "mobile number"),
              Channel.CALL: ("phone", "phone number"), Channel.WEBHOOK: ("webhook_url", "webhook URL")}


# --- People and teams --------------------------------------------------------------------

def person_save(*, person: Person | None = None, name: str, email: str = "", mobile: str = "", phone: str = "",
                webhook_url: str = "", active: bool = True) -> Person:
    """Create or change someone who receives messages. Phone numbers are stored in E.164."""
    person = person or Person()
    person.name, person.email, person.webhook_url, person.active = name.strip(), email.strip(), webhook_url.strip(), active
    person.mobile, person.phone = mobile.strip(), phone.strip()
    person.full_clean()  # PhoneNumberField.to_python turns numbers into E.164 or refuses them
    person.save()
    return person


def team_create(*, name: str) -> Team:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a team called “{name}”."})
    return Team.objects.create(name=name)


# --- Rotations and overrides -----------------------------------------------------------

def rotation_set(*, team: Team, period: str, handover_time: time, starts_on: date,
                 members: list[Person]) -> Rotation:
    """Replace the team's rotation: period, local hand-over time, first day and members in order."""
    errors: dict[str, list[str]] = {}
    if period not in Rotation.Period.values:
        errors.setdefault("period", []).append("Choose daily or weekly.")
    if handover_time is None:
        errors.setdefault("handover_time", []).append("Choose the hand-over time.")
    if starts_on is None:
        errors.setdefault("starts_on", []).append("Choose the rotation's first day.")
    if not members:
        errors.setdefault("members", []).append("A rotation needs at least one member.")
    elif not any(p.active for p in members):
        errors.setdefault("members", []).append("Every member of this rotation is inactive: nobody would be on call.")
    seen: set[int] = set()
    for person in members:
        if person.pk in seen:
            errors.setdefault("members", []).append(f"{person} is listed twice.")
        seen.add(person.pk)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rotation, _ = Rotation.objects.update_or_create(
            team=team, defaults={"period": period, "handover_time": handover_time, "starts_on": starts_on})
        rotation.members.all().delete()
        RotationMember.objects.bulk_create(
            RotationMember(rotation=rotation, person=person, position=i) for i, person in enumerate(members, 1))
    return rotation


def override_create(*, team: Team, person: Person, starts: datetime, ends: datetime, note: str = "",
                    now: datetime | None = None) -> Override:
    """Someone covers ``team`` from ``starts`` to ``ends`` (aware datetimes)."""
    now = now or timezone.now()
    if starts is None or ends is None:
        raise ValidationError({"ends": "An override needs a start and an end."})
    if ends <= starts:
        raise ValidationError({"ends": "An override ends after it starts."})
    if ends <= now:
        raise ValidationError({"ends": "That override would already be over."})
    if not person.active:
        raise ValidationError({"person": f"{person} is inactive."})
    return Override.objects.create(team=team, person=person, starts=starts, ends=ends, note=note.strip()[:200])


def override_delete(*, override: Override) -> None:
    override.delete()


# --- Escalation policies ------------------------------------------------------------------

@dataclass(frozen=True)
class StepSpec:
    """One step as the editor sends it; position is its place in the list."""

    channel: str
    target: str
    person: Person | None = None
    team: Team | None = None
    wait_minutes: int = 0


def policy_problems(*, name: str, repeat: int, needs_acknowledgement: bool, steps: list[StepSpec],
                    policy: EscalationPolicy | None = None) -> list[str]:
    """Everything wrong with a policy, each naming its step ([] = fine). A selector: writes nothing."""
    problems = []
    if not name.strip():
        problems.append("A policy needs a name.")
    elif EscalationPolicy.objects.filter(name__iexact=name.strip()).exclude(pk=getattr(policy, "pk", None)).exists():
        problems.append(f"There is already a policy called “{name.strip()}”.")
    if repeat is None or repeat < 1:
        problems.append("Run the chain at least once (repeat 1 or more).")
    if not steps:
        problems.append("This policy has no steps: it would reach nobody.")
    for position, step in enumerate(steps, 1):
        problems.extend(f"Step {position}: {p}" for p in _step_problems(step))
    if steps and needs_acknowledgement and (repeat or 0) > 1 and all(s.wait_minutes == 0 for s in steps):
        problems.append(f"Every step waits 0 minutes, so all {repeat} rounds would go out at once: "
                        "give at least one step a wait, or repeat once.")
    return problems


def _step_problems(step: StepSpec) -> list[str]:
    if step.channel not in Channel.values:
        return ["choose a channel."]
    if step.target not in EscalationStep.Target.values:
        return ["choose whom it reaches."]
    if step.wait_minutes is None or step.wait_minutes < 0:
        return ["the wait is a number of minutes, 0 or more."]
    attribute, what = ADDRESS_OF[Channel(step.channel)]
    channel = Channel(step.channel).label.lower()
    if step.target == EscalationStep.Target.PERSON:
        if step.person is None:
            return ["choose the person it reaches."]
        if not step.person.active:
            return [f"{step.person} is inactive: it would reach nobody."]
        if not getattr(step.person, attribute):
            return [f"{step.person} has no {what}, so a {channel} reaches nobody."]
        return []
    if step.team is None:
        return ["choose the team it reaches."]
    members = [m.person for m in RotationMember.objects.filter(rotation__team=step.team, person__active=True)
               .select_related("person")]
    if not members:
        return [f"the team {step.team} has nobody in its rotation: it would reach nobody."]
    if not any(getattr(p, attribute) for p in members):
        return [f"nobody in {step.team} has a {what}, so a {channel} reaches nobody."]
    return []


def policy_save(*, policy: EscalationPolicy | None = None, name: str, repeat: int, needs_acknowledgement: bool,
                alert_supervisors: bool, steps: list[StepSpec]) -> EscalationPolicy:
    """Create or replace a policy and its ordered steps; refused (nothing written) with every problem."""
    problems = policy_problems(name=name, repeat=repeat, needs_acknowledgement=needs_acknowledgement, steps=steps,
                               policy=policy)
    if problems:
        raise ValidationError(problems)
    policy = policy or EscalationPolicy()
    policy.name, policy.repeat = name.strip(), repeat
    policy.needs_acknowledgement, policy.alert_supervisors = needs_acknowledgement, alert_supervisors
    with transaction.atomic():
        policy.save()
        # Attempts already made keep their step's history through Delivery.step (SET_NULL).
        policy.steps.all().delete()
        EscalationStep.objects.bulk_create(
            EscalationStep(policy=policy, position=i, channel=s.channel, target=s.target,
                           person=s.person if s.target == EscalationStep.Target.PERSON else None,
                           team=None if s.target == EscalationStep.Target.PERSON else s.team,
                           wait_minutes=s.wait_minutes)
            for i, s in enumerate(steps, 1))
    return policy


def policy_delete(*, policy: EscalationPolicy) -> None:
    used_by = list(policy.rules.all())
    if used_by:
        raise ValidationError(f"“{policy}” is used by {len(used_by)} delivery rule{'s' if len(used_by) != 1 else ''}: "
                              "change those rules first.")
    try:
        policy.delete()
    except (ProtectedError, IntegrityError) as exc:  # a rule added meanwhile
        raise ValidationError(f"“{policy}” is still in use.") from exc


# --- Delivery rules -----------------------------------------------------------------------

@dataclass(frozen=True)
class RuleSpec:
    policy: EscalationPolicy | None
    urgency: str = ""
    category: str = ""
    when: str = DeliveryRule.When.ANY


def rules_replace(*, rules: list[RuleSpec]) -> list[DeliveryRule]:
    """Replace the delivery rules with ``rules``, tried in this order (the first match wins).

    An empty list is refused: it is what a form posted with no rows (``TOTAL_FORMS=0``, every row
    ticked "Remove") sends, and saving it would silently stop every text and call-out.
    """
    if not rules:
        raise ValidationError("Keep at least one delivery rule: without one, every message, urgent ones too, "
                              "would reach only the portal and nobody would be texted or called.")
    problems = []
    for position, rule in enumerate(rules, 1):
        if rule.policy is None:
            problems.append(f"Rule {position}: choose the policy it starts.")
        if rule.urgency and rule.urgency not in Message.Urgency.values:
            problems.append(f"Rule {position}: unknown urgency “{rule.urgency}”.")
        if rule.when not in DeliveryRule.When.values:
            problems.append(f"Rule {position}: choose when it applies.")
    for position, rule in enumerate(rules, 1):
        earlier = next((i for i, r in enumerate(rules[:position - 1], 1) if _covers(r, rule)), None)
        if earlier:
            problems.append(f"Rule {position} can never apply: rule {earlier} above it already matches "
                            "every message it would.")
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        DeliveryRule.objects.all().delete()
        return DeliveryRule.objects.bulk_create(
            DeliveryRule(position=i, urgency=r.urgency, category=r.category.strip(), when=r.when, policy=r.policy)
            for i, r in enumerate(rules, 1))


def _covers(first: RuleSpec, later: RuleSpec) -> bool:
    """Does ``first`` match every message ``later`` matches (so ``later`` is dead)?"""
    return ((not first.urgency or first.urgency == later.urgency)
            and (not first.category or first.category.strip().lower() == later.category.strip().lower())
            and (first.when == DeliveryRule.When.ANY or first.when == later.when))
