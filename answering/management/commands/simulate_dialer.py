"""Play the people a running campaign calls (development): each call the simulated gateway
places rings a simulated callee — a person, a machine, no answer, busy or failed, drawn
from probabilities this command sets — who answers with Twilio's callbacks in order."""

from __future__ import annotations

import json
import os
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from answering.twilio.gateway import SIM_DIALED
from answering.twilio.simulator import (
    CALLEE_BEHAVIOURS,
    SIM_CALLEE_NUMBERS,
    answer_dial,
    callee_behaviour,
    callees_get,
    callees_set,
    http_transport,
)
from switchboard.redis_clients import redis_client


class Command(BaseCommand):
    help = ("Answer the campaign calls the simulated gateway places, e.g. "
            "simulate_dialer --person 0.3 --machine 0.2 --no-answer 0.4 --busy 0.05 --failed 0.05; "
            "--set-only stores the behaviour for a running simulator; --number +1... machine pins one number.")

    def add_arguments(self, parser):
        for behaviour in CALLEE_BEHAVIOURS:
            parser.add_argument(f"--{behaviour}", type=float, dest=behaviour.replace("-", "_"),
                                help=f"probability that a callee is: {behaviour}")
        parser.add_argument("--ring", type=float, help="seconds a call rings before it is answered")
        parser.add_argument("--greeting", type=float, help="seconds of greeting before detection answers")
        parser.add_argument("--talk", type=float, help="seconds a person stays on before hanging up")
        parser.add_argument("--number", nargs=2, action="append", metavar=("NUMBER", "BEHAVIOUR"), default=[],
                            help="what the person at NUMBER always does")
        parser.add_argument("--set-only", action="store_true", help="store the behaviour and exit")
        parser.add_argument("--server", default=f"http://127.0.0.1:{os.getenv('PORT', '8000')}")

    def handle(self, *args, server, number, set_only, **options):
        if settings.TWILIO_MODE != "simulate":
            raise CommandError("Campaign calls are only simulated with TWILIO_MODE=simulate.")
        values = {k: options[k] for k in [b.replace("-", "_") for b in CALLEE_BEHAVIOURS] + ["ring", "greeting", "talk"]
                  if options.get(k) is not None}
        setting = callees_set(**values) if values else callees_get()
        r = redis_client(timeout=10)
        for to, behaviour in number:
            if behaviour not in CALLEE_BEHAVIOURS:
                raise CommandError(f"“{behaviour}” is not one of {', '.join(CALLEE_BEHAVIOURS)}.")
            r.hset(SIM_CALLEE_NUMBERS, to, behaviour)
        self.stdout.write("Callees: " + ", ".join(f"{k} {v:g}" for k, v in setting.items()))
        if set_only:
            return
        transport = http_transport(server, settings.PLATFORM_DOMAIN)
        self.stdout.write(f"Answering campaign calls against {server}; Ctrl-C to stop.")
        while True:
            item = r.blpop([SIM_DIALED], timeout=5)
            if item is None:
                continue
            record = json.loads(item[1])
            setting = callees_get()
            behaviour = callee_behaviour(record["to"])
            self.stdout.write(f"{record['to']} rings ({behaviour})")
            threading.Thread(target=self._play, daemon=True, args=(record, transport, behaviour, setting)).start()

    def _play(self, record, transport, behaviour, setting):
        try:
            call = answer_dial(record=record, transport=transport, behaviour=behaviour, ring_seconds=setting["ring"],
                               greeting_seconds=setting["greeting"], talk_seconds=setting["talk"], realtime=True,
                               say=lambda line: None, max_conference_seconds=setting["talk"] + 600)
            self.stdout.write(f"{record['to']}: {call.outcome}")
        except Exception as exc:  # one callee's trouble must not stop the others
            self.stderr.write(f"{record['to']}: {type(exc).__name__}: {exc}")
