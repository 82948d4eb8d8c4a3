"""The ACD's verbs: calls in flight, their states, and who answers them.

Races are settled by PostgreSQL, not by Python: conditional UPDATEs (``... WHERE state =
'offered' AND offered_to = me``) and partial unique indexes (one live call per agent) make
each assignment happen exactly once, however many agents click at the same instant.

The verbs live by side — ``calls`` (the caller's), ``agents`` (the agent's), ``dispatch``
(offering waiting calls) — over one state machine (``states``); callers import them from
here: ``from answering.acd import services as acd``.
"""

from answering.acd.services.agents import (
    acd_sweep,
    agent_console_lost,
    agent_mode_set,
    agent_modes,
    agent_status_set,
    call_accept,
    call_decline,
    connect_url,
    offer_expire,
    wrap_up_end,
    wrap_up_start,
)
from answering.acd.services.calls import (
    agent_leg_failed,
    call_arrive,
    call_enqueue,
    call_enter_menu,
    call_new,
    call_note_menu_attempt,
    call_recover,
    call_script_pin,
    call_sessions_prune,
    call_status_update,
    call_to_voicemail,
    call_transfer,
)
from answering.acd.services.controls import (
    CONTROL_ACTIONS,
    agent_leg_dial,
    call_control,
    conference_event,
    leg_status,
    timeline_flush,
)
from answering.acd.services.dispatch import acd_dispatch, eligible_agents, reoffer_pause_seconds
from answering.acd.services.states import TransitionRefused

__all__ = [
    "TransitionRefused", "acd_dispatch", "acd_sweep", "agent_console_lost", "agent_leg_failed", "agent_mode_set",
    "agent_modes", "agent_status_set",
    "call_accept", "call_arrive", "call_decline", "call_enqueue", "call_enter_menu", "call_new",
    "call_note_menu_attempt", "call_recover", "call_script_pin", "call_sessions_prune", "call_status_update",
    "call_to_voicemail", "call_transfer", "connect_url", "eligible_agents", "reoffer_pause_seconds", "offer_expire", "wrap_up_end", "wrap_up_start",
    "CONTROL_ACTIONS", "agent_leg_dial", "call_control", "conference_event", "leg_status", "timeline_flush",
]
