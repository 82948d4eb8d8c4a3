"""Announce that the call is recorded, or not? Platform → client → campaign policy, and the
all-party-consent states table (compliance.platform.models.UsState)."""

from __future__ import annotations

from dataclasses import dataclass

from compliance import location
from compliance.location import ContactAddress
from compliance.models import ComplianceSettings, RecordingPolicy
from compliance.platform.models import AreaCode, UsState
from tenants.models import Client

# The platform's default: announce on every recorded call.
PLATFORM_RECORDING_POLICY = RecordingPolicy.ANNOUNCE


@dataclass(frozen=True)
class RecordingDecision:
    announce: bool
    policy: str
    reasons: list[str]


def recording_decide(*, client: Client, number: str, campaign=None, contact_address=None) -> RecordingDecision:
    """Whether a recorded call must announce recording. Runs in the client's schema.

    The nearest level that says something decides the policy (campaign, then client, then
    platform). Staying silent is only ever allowed when every party — the called person's
    every candidate state and the client's own numbers' states — is known and in a
    one-party-consent state; across state lines the stricter rule wins.
    """
    settings = ComplianceSettings.objects.first()
    policy, level = PLATFORM_RECORDING_POLICY, "platform"
    if settings is not None and settings.recording_policy != RecordingPolicy.INHERIT:
        policy, level = settings.recording_policy, "client"
    if campaign is not None and campaign.recording_policy != RecordingPolicy.INHERIT:
        policy, level = campaign.recording_policy, "campaign"
    if policy == RecordingPolicy.ANNOUNCE:
        return RecordingDecision(True, policy, [f"The {level} policy is to always announce recording."])

    states, unknown = set(), []
    e164 = location.normalize(number)
    for who, phone in [("called party", e164)] + [("client", p) for p in client.phone_numbers.values_list("number", flat=True)]:
        state = _area_code_state(phone)
        if state is None:
            unknown.append(f"{who} {phone or number}")
        else:
            states.add(state)
    address = ContactAddress.of(contact_address)
    if address and address.state:
        states.add(address.state)
    if unknown:
        return RecordingDecision(True, policy, [f"Location unknown for {', '.join(unknown)}: announce."])
    strict = sorted(UsState.objects.filter(code__in=states, all_party_recording_consent=True).values_list("code", flat=True))
    missing = states - set(UsState.objects.filter(code__in=states).values_list("code", flat=True))
    if strict or missing:
        return RecordingDecision(True, policy, [f"All-party-consent or unknown state(s): {', '.join(strict + sorted(missing))}."])
    return RecordingDecision(False, policy, [f"Every party is in a one-party-consent state ({', '.join(sorted(states))}); "
                                             f"the {level} policy allows no announcement."])


def _area_code_state(e164: str | None) -> str | None:
    if not e164 or not e164.startswith("+1") or location.is_non_geographic(e164):
        return None
    return AreaCode.objects.filter(code=int(e164[2:5])).values_list("state_id", flat=True).first()
