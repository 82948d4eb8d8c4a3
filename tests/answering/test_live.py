"""Queue panels: a burst of changes reaches the consoles as one push of the state at its end.

Not in a test transaction: the push is computed on a timer thread with its own connection,
which must see the committed calls; the fixture removes them afterwards.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from answering import live
from answering.acd import services as acd
from answering.acd.models import CallSession
from switchboard.redis_clients import redis_client


async def _next(channel: str, timeout: float) -> dict:
    return await asyncio.wait_for(get_channel_layer().receive(channel), timeout)


@pytest.fixture
def console(world, settings, django_db_blocker):
    """A console listening to Bob's queue, and a way to queue committed calls for Bob's."""
    settings.LIVE_COALESCE_MS = 150
    layer = get_channel_layer()
    group = live.client_queue_group("bobsplumbing")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    redis_client(timeout=1).delete("switchboard:push-due:queue:bobsplumbing")
    made: list[CallSession] = []

    def queue_a_call() -> CallSession:
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
            from_number="+12125559876", state=CallSession.State.QUEUED, queued_at=timezone.now())
        made.append(call)
        acd._push_queue(world.bobs)  # what every queue change does after its commit
        return call

    with django_db_blocker.unblock():  # for the timer thread too, which reads when the push is due
        yield channel, queue_a_call
        async_to_sync(layer.group_discard)(group, channel)
        CallSession.objects.filter(pk__in=[c.pk for c in made]).delete()


def test_a_burst_of_changes_is_one_push_carrying_the_last_state(console):
    channel, queue_a_call = console
    burst = [queue_a_call() for _ in range(5)]
    message = async_to_sync(_next)(channel, 5)["payload"]
    assert message["type"] == "queue" and message["client"] == "bobsplumbing"
    assert {c.pk for c in burst} <= {c["call"] for c in message["calls"]}
    with pytest.raises(asyncio.TimeoutError):
        async_to_sync(_next)(channel, 0.5)  # one push for the whole burst


def test_a_change_after_the_push_went_gets_a_push_of_its_own(console):
    channel, queue_a_call = console
    queue_a_call()
    async_to_sync(_next)(channel, 5)
    later = queue_a_call()
    message = async_to_sync(_next)(channel, 5)["payload"]
    assert later.pk in {c["call"] for c in message["calls"]}


def test_without_a_window_every_change_is_pushed_at_once(console, settings):
    settings.LIVE_COALESCE_MS = 0
    channel, queue_a_call = console
    call = queue_a_call()
    message = async_to_sync(_next)(channel, 0.5)["payload"]  # no timer: already sent
    assert call.pk in {c["call"] for c in message["calls"]}
