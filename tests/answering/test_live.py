"""Queue panels: a burst of changes reaches the consoles as one push of the state at its end.

Not in a test transaction: the push is computed on a timer thread with its own connection,
which must see the committed calls; the fixture removes them afterwards. The console
listens on a thread of its own (this test thread may hold Playwright's event loop).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from answering import live
from answering.acd.models import CallSession
from answering.acd.services import states as acd
from switchboard.redis_clients import redis_client
from tests.processes import ROOT, _env


class Console(threading.Thread):
    """A console in Bob's queue group: every push it gets lands in ``inbox``."""

    def __init__(self, group: str):
        super().__init__(daemon=True)
        self.group, self.inbox, self.ready = group, queue.Queue(), threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        layer = get_channel_layer()
        self.loop, self.channel = asyncio.get_running_loop(), await layer.new_channel()
        await layer.group_add(self.group, self.channel)
        self.ready.set()
        while (message := await layer.receive(self.channel))["type"] != "stop":
            self.inbox.put(message["payload"])
        await layer.group_discard(self.group, self.channel)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(get_channel_layer().send(self.channel, {"type": "stop"}), self.loop).result(5)
        self.join(5)


@pytest.fixture
def console(world, settings, django_db_blocker):
    """A console listening to Bob's queue, and a way to queue committed calls for Bob's."""
    settings.LIVE_COALESCE_MS = 150
    redis_client(timeout=1).delete("switchboard:push-due:queue:bobsplumbing")
    listener = Console(live.client_queue_group("bobsplumbing"))
    listener.start()
    assert listener.ready.wait(5)
    made: list[CallSession] = []

    def queue_a_call() -> CallSession:
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
            from_number="+12125559876", state=CallSession.State.QUEUED, queued_at=timezone.now())
        made.append(call)
        acd._push_queue(world.bobs)  # what every queue change does after its commit
        return call

    with django_db_blocker.unblock():  # for the timer thread too, which reads when the push is due
        yield listener.inbox, queue_a_call
        listener.stop()
        CallSession.objects.filter(pk__in=[c.pk for c in made]).delete()


def test_a_burst_of_changes_is_one_push_carrying_the_last_state(console):
    inbox, queue_a_call = console
    burst = [queue_a_call() for _ in range(5)]
    message = inbox.get(timeout=5)
    assert message["type"] == "queue" and message["client"] == "bobsplumbing"
    assert {c.pk for c in burst} <= {c["call"] for c in message["calls"]}
    with pytest.raises(queue.Empty):
        inbox.get(timeout=0.5)  # one push for the whole burst


def test_a_change_after_the_push_went_gets_a_push_of_its_own(console):
    inbox, queue_a_call = console
    queue_a_call()
    inbox.get(timeout=5)
    later = queue_a_call()
    assert later.pk in {c["call"] for c in inbox.get(timeout=5)["calls"]}


def test_a_process_that_exits_right_after_a_change_still_pushes_it(console, tmp_path):
    """A management command (`agent … accept`) returns at once; its coalesced push was lost
    when the interpreter's executor was gone by the time the timer fired."""
    import subprocess
    import sys

    inbox, _ = console
    script = ("import django; django.setup()\n"
              "from answering import live\n"
              "live.push_soon('queue:bobsplumbing', lambda: (live.client_queue_group('bobsplumbing'), "
              "{'type': 'queue', 'client': 'bobsplumbing', 'calls': [], 'from': 'a command'}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=_env(DJANGO_SETTINGS_MODULE="switchboard.settings", LIVE_COALESCE_MS="150",
                                   SWITCHBOARD_TESTING="0"))
    assert done.returncode == 0, done.stderr
    assert "failed" not in done.stderr and "never awaited" not in done.stderr, done.stderr
    assert inbox.get(timeout=5)["from"] == "a command"


def test_a_push_from_synchronous_code_reaches_the_group(console):
    """Published straight to Redis in the layer's own format (no hop through an event loop):
    a consumer of the real layer gets it as it would any group_send."""
    inbox, _ = console
    live.push(live.client_queue_group("bobsplumbing"), {"type": "hello", "calls": [1, 2], "name": "Bob's"})
    assert inbox.get(timeout=5) == {"type": "hello", "calls": [1, 2], "name": "Bob's"}
    live.push(live.client_queue_group("charlieclinic"), {"type": "not for Bob's consoles"})
    live.push(live.client_queue_group("bobsplumbing"), {"type": "second"})
    assert inbox.get(timeout=5) == {"type": "second"}
