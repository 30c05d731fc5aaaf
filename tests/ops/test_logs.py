"""Logs: JSON lines with the request's id, workspace and key prefix, and never a secret.

The scan runs a whole flow against real gunicorn (access log on, DEBUG level): signup
with a password, a session, a wrong password, an API key created, used, mistyped and
even put in a URL, then reads everything the processes printed.
"""

import io
import json
import logging
import re
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from accounts.services import signup_request
from config.logging import JsonFormatter, RequestContextFilter, redact
from core import context
from tests.ops.servers import Gunicorn

PASSWORD = "Correct-Horse-Battery-42!"
SLUG = "logscan"


class Browser:
    """Cookies per host and the CSRF dance, over a live server."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.cookies: dict[str, dict[str, str]] = {}
        self.seen_cookie_values: set[str] = set()

    def request(self, method: str, path: str, *, host: str, form: dict | None = None, headers: dict | None = None,
                body: bytes | None = None):
        jar = self.cookies.setdefault(host, {})
        headers = dict(headers or {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode({"csrfmiddlewaretoken": jar.get("csrftoken", ""), **form}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{host}/"
        status, response_headers, content = self.server.request(method, path, host=host, headers=headers, body=body)
        for line in filter(None, response_headers["set-cookie"].split("\n")):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            jar[name] = value
            if value:
                self.seen_cookie_values.add(value)
        return status, response_headers, content


@pytest.mark.live
@pytest.mark.django_db(transaction=True, available_apps=settings.INSTALLED_APPS)
def test_no_secret_appears_in_the_logs_of_a_full_run():
    # given gunicorn logging everything: access lines and the app at DEBUG
    server = Gunicorn(env={"GUNICORN_ACCESSLOG": "-", "DJANGO_LOG_LEVEL": "DEBUG", "GUNICORN_LOGLEVEL": "debug"},
                      workers=1)
    server.start()
    workspace_host = f"{SLUG}.{settings.BASE_DOMAIN}"
    try:
        browser = Browser(server)
        # when someone signs up with a password, follows the emailed link and the sign-in handoff
        # (one-time tokens in URLs)
        signup = {"full_name": "Log Scan", "email": "scan@example.com", "password": PASSWORD,
                  "workspace_name": "Log Scan", "slug": SLUG}
        browser.request("GET", "/signup/", host="localhost")
        status, _, page = browser.request("POST", "/signup/", host="localhost", form=signup)
        assert status == HTTPStatus.OK and b"Check your email" in page, status
        # (gunicorn's email stays in its process: the same signup asked here mails its link to this one)
        signup_request(**signup)
        confirm_path = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[-1].body).group(1)
        confirm_token = confirm_path.rstrip("/").rsplit("/", 1)[-1]
        browser.request("GET", confirm_path, host="localhost")
        status, headers, page = browser.request("POST", confirm_path, host="localhost", form={})
        # the browser is sent on to the workspace host (a redirect, or a page that moves on by itself)
        handoff_url = headers.get("location") or re.search(rb'url=([^"]+)"', page).group(1).decode()
        handoff_path = re.sub(r"^https?://[^/]+", "", handoff_url)
        assert status in (HTTPStatus.OK, HTTPStatus.FOUND) and "/auth/handoff/" in handoff_path, status
        handoff_token = handoff_path.rstrip("/").rsplit("/", 1)[-1]
        assert browser.request("GET", handoff_path, host=workspace_host)[0] == HTTPStatus.FOUND
        assert browser.request("GET", "/", host=workspace_host)[0] == HTTPStatus.OK
        # and creates an API key in the session, then uses it every way a client might
        browser.request("GET", "/login/", host=workspace_host)  # the CSRF cookie
        status, _, body = browser.request(
            "POST", "/api/v1/keys", host=workspace_host, body=json.dumps({"name": "scan", "scopes": ["read", "write"]})
            .encode(), headers={"Content-Type": "application/json", "X-CSRFToken": browser.cookies[workspace_host]
                                .get("csrftoken", ""), "Referer": f"http://{workspace_host}/"})
        assert status == HTTPStatus.CREATED, body
        key = json.loads(body)["key"]
        secret = key.rsplit("_", 1)[1]
        bearer = {"Authorization": f"Bearer {key}"}
        assert server.request("GET", "/api/v1/info", headers=bearer)[0] == HTTPStatus.OK
        assert server.request("GET", "/api/v1/info", headers={"X-API-Key": key})[0] == HTTPStatus.OK
        assert server.request("POST", "/api/v1/analyze", headers={**bearer, "Content-Type": "application/json"},
                              body=b'{"text": "logs must stay clean"}')[0] == HTTPStatus.OK
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        assert server.request("GET", "/api/v1/info", headers={"Authorization": f"Bearer {wrong}"})[0] == 401
        assert server.request("GET", f"/api/v1/nothing/{key}", headers=bearer)[0] == HTTPStatus.NOT_FOUND
        assert server.request("GET", f"/api/v1/limits?api_key={key}")[0] == HTTPStatus.UNAUTHORIZED
        # and someone types the wrong password, then the right one, then logs out
        browser.cookies.pop(workspace_host)
        browser.request("GET", "/login/", host=workspace_host)
        assert browser.request("POST", "/login/", host=workspace_host,
                               form={"username": "scan@example.com", "password": PASSWORD + "x"})[0] == 400
        assert browser.request("POST", "/login/", host=workspace_host,
                               form={"username": "scan@example.com", "password": PASSWORD})[0] == HTTPStatus.FOUND
        assert browser.request("POST", "/logout/", host=workspace_host, form={})[0] == HTTPStatus.FOUND
    finally:
        server.stop()
        output = server.output()
        server.remove()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "ws_{SLUG}" CASCADE')
    # then the run was logged...
    assert "/api/v1/info" in output and "Unauthorized: /api/v1/info" in output
    # ...with no password, key, key secret, session or CSRF value, or one-time token anywhere
    secrets = {"password": PASSWORD, "wrong password": PASSWORD + "x", "api key": key, "key secret": secret,
               "mistyped key secret": wrong.rsplit("_", 1)[1], "handoff token": handoff_token,
               "signup link token": confirm_token,
               **{f"cookie {i}": value for i, value in enumerate(browser.seen_cookie_values) if len(value) >= 16}}
    leaked = [name for name, value in secrets.items() if value in output]
    assert leaked == [], f"secrets in the logs: {leaked}"
    assert f"/api/v1/nothing/{key.rsplit('_', 1)[0]}_[redacted]" in output  # logged, masked, prefix kept
    # and the app's lines about a request carry its id
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line["logger"] == "django.request"]
    assert len(request_lines) >= 3 and all(line["request_id"] for line in request_lines)


def test_every_line_of_a_request_carries_its_id_workspace_and_key_prefix():
    # given the formatter and filter LOGGING uses, on a request with a key
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("tests.ops.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        context.clear()
        context.request_id.set("rid-0123456789")
        context.workspace_slug.set("acme")
        context.key_prefix.set("tg_live_abcdefghij12")
        # when two lines are logged during the request
        logger.info("first %s", "line")
        logger.warning("second line")
    finally:
        context.clear()
        logger.removeHandler(handler)
    # then each is one JSON object with the request's fields
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == ["first line", "second line"]
    for line in lines:
        assert (line["request_id"], line["workspace"], line["key_prefix"]) == (
            "rid-0123456789", "acme", "tg_live_abcdefghij12")
        assert line["level"] in {"INFO", "WARNING"} and line["ts"].endswith("+00:00")


def test_a_secret_in_an_exception_is_masked_in_the_log_line():
    # given an exception whose message quotes a Stripe key and a database password
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.ops.exception")
    logger.addHandler(handler)
    stripe_key = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    try:
        # when it is logged with its traceback
        try:
            raise ValueError(f"Stripe refused {stripe_key} via postgres://app:pg-pass-777@db:5432/tollgate")
        except ValueError:
            logger.exception("charge failed for key %s", stripe_key)
    finally:
        logger.removeHandler(handler)
    # then neither secret appears, and the line says what was masked
    text = stream.getvalue()
    assert stripe_key not in text and "pg-pass-777" not in text
    assert "sk_live_[redacted]" in text and "postgres://app:[redacted]@db" in text


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer tg_test_abcdefghij12_" + "S" * 43, "S" * 43),
    ("GET /x?key=tg_live_abcdefghij12_" + "k" * 43, "k" * 43),
    ("Cookie: sessionid=9f8e7d6c5b4a39281706f5e4d3c2b1a0; csrftoken=AbCdEf0123456789", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ('{"email": "a@b.c", "password": "p4ss w0rd!"}', "p4ss w0rd!"),
    ("username=a%40b.c&password=hunter2hunter2", "hunter2hunter2"),
    ("webhook secret whsec_" + "Z" * 32, "Z" * 32),
    ("Not Found: /invite/inv-token-123456789/", "inv-token-123456789"),
    ("Not Found: /password-reset/MQ/cz9h-0123456789abcdef/", "cz9h-0123456789abcdef"),
    ("redis://:redis-pass-1@cache:6379/0", "redis-pass-1"),
])
def test_redact_masks_each_kind_of_secret(text, secret):
    assert secret not in redact(text)
    assert "[redacted]" in redact(text)


def test_redact_leaves_ordinary_text_alone():
    text = "key tg_live_abcdefghij12 revoked; 3 tokens left; password reset email sent to a@b.c"
    assert redact(text) == text


def test_gunicorn_builds_no_access_line_unless_access_lines_are_on():
    from gunicorn.config import Config

    from config.gunicorn_logger import Logger

    # deploy/gunicorn.conf.py names it (read as text: executing it would set up metrics directories)
    assert 'logger_class = "config.gunicorn_logger.Logger"' in (settings.BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    built = []

    class Counting(Logger):
        def atoms(self, *args):
            built.append(1)
            return {}

    for accesslog, expected in ((None, 0), ("-", 1)):
        cfg = Config()
        cfg.set("logconfig_dict", {"version": 1, "loggers": {"gunicorn.access": {"handlers": []}}})
        cfg.set("accesslog", accesslog)
        built.clear()
        Counting(cfg).access(object(), object(), {}, None)
        assert len(built) == expected, accesslog
