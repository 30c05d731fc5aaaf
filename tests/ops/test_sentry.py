"""Optional error reporting: with SENTRY_DSN set, errors reach Sentry tagged with the
request's id and workspace, and with every secret masked. The Sentry side is a loopback
HTTP server that keeps what it receives; the app runs in a subprocess so the SDK's
patches to Django never touch this test process."""

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.ops.servers import ROOT

API_KEY = "tg_live_abcdefghij12_" + "Q" * 43
STRIPE_KEY = "sk_live_" + "Z9y8X7w6V5u4T3s2R1q0P9o8"

APP = f"""
import logging
import django
django.setup()
import sentry_sdk
from core import context

assert sentry_sdk.get_client().is_active(), "SENTRY_DSN set but Sentry not initialised"
context.request_id.set("rid-sentry-000001")
context.workspace_slug.set("acme")
context.key_prefix.set("tg_live_abcdefghij12")
try:
    raise ValueError("card declined for {STRIPE_KEY}, key {API_KEY}")
except ValueError:
    logging.getLogger("billing").exception("charge failed: password=hunter2hunter2")
sentry_sdk.flush(10)
"""


class _Sink(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_sentry_gets_tagged_errors_without_secrets():
    # given a Sentry-compatible sink on loopback and the app configured with its DSN
    _Sink.received = []
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "SENTRY_DSN": f"http://publickey@127.0.0.1:{sink.server_port}/1", "SENTRY_ENVIRONMENT": "ops-test"}
    try:
        # when the app logs an exception whose message carries a Stripe key, an API key and a password
        result = subprocess.run([sys.executable, "-c", APP], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60)
    finally:
        sink.shutdown()
        sink.server_close()
    # then one error event arrived, tagged with the request, and no secret in anything sent
    assert result.returncode == 0, result.stderr[-2000:]
    sent = b"\n".join(_Sink.received).decode(errors="replace")
    events = [json.loads(line) for line in sent.splitlines() if line.startswith("{") and '"exception"' in line]
    assert len(events) == 1
    event = events[0]
    assert event["environment"] == "ops-test"
    assert event["tags"]["request_id"] == "rid-sentry-000001" and event["tags"]["workspace"] == "acme"
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    for secret in (STRIPE_KEY, API_KEY, "Q" * 43, "hunter2hunter2"):
        assert secret not in sent
    assert "sk_live_[redacted]" in sent
