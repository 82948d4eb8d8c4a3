"""A local receiver of our event webhooks for development: verifies each request with the
``standardwebhooks`` package (an implementation independent of ours) and prints the event.

    python manage.py webhook_receiver --port 8099 --secret whsec_…

Answers 204 to a verified request, 401 (and says why) to one that does not verify.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Receive and verify Switchboard's event webhooks locally (Standard Webhooks), printing each event."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--secret", required=True, action="append",
                            help="The endpoint's whsec_ secret (give it twice during a rotation).")

    def handle(self, *args, port: int, host: str, secret: list[str], **options) -> None:
        try:
            from standardwebhooks.webhooks import Webhook, WebhookVerificationError
        except ImportError as exc:
            raise CommandError("Install the standardwebhooks package (pip install standardwebhooks).") from exc
        try:
            verifiers = [Webhook(s) for s in secret]
        except Exception as exc:
            raise CommandError(f"--secret is not a whsec_ secret: {exc}") from exc
        out = self.stdout

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers)
                reasons = []
                for verifier in verifiers:
                    try:
                        event = verifier.verify(body, headers)
                        break
                    except WebhookVerificationError as exc:
                        reasons.append(str(exc))
                else:
                    out.write(f"REFUSED {headers.get('webhook-id', '?')}: {'; '.join(reasons)}")
                    self.send_response(401)
                    self.end_headers()
                    self.wfile.write(("; ".join(reasons)).encode())
                    return
                out.write(f"{event['type']} {headers.get('webhook-id')} verified\n"
                          + json.dumps(event["data"], indent=2, ensure_ascii=False))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        out.write(f"Listening on http://{host}:{port}/ — point a webhook endpoint here. Ctrl-C stops.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
