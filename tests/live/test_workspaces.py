"""Workspaces made and deleted while real gunicorn workers serve: signups at once, deletion
reaching every worker, and the provisioning connection not kept."""

import html
import re
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.db import connection

from accounts.models import Membership, User
from accounts.services import signup_request
from tenants.models import Workspace
from tenants.services import workspace_create, workspace_delete
from tests.live.test_revocation import WITHIN, _poll_after, _warm_every_worker

pytestmark = pytest.mark.live

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ERROR = re.compile(r'<div class="errors" role="alert">\s*<p>(.*?)</p>', re.DOTALL)


def _schemas(prefix: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [prefix + "%"])
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def cleanup(live_db):
    """Deletes, at teardown, every workspace whose slug starts with one of the prefixes given."""
    prefixes: list[str] = []
    yield prefixes
    connection.set_schema_to_public()
    for prefix in prefixes:
        for workspace in Workspace.objects.filter(slug__startswith=prefix):
            workspace_delete(workspace=workspace, confirm=workspace.slug, actor=("operator", "tests"))
        User.objects.filter(email__endswith=f"@{prefix}.test").delete()


class _Signup:
    """One person: asks for the signup (here, in this process, to read the emailed link), opens
    the link on gunicorn (CSRF cookie and token), then presses its button when told to."""

    def __init__(self, server, *, email: str, slug: str):
        self.server = server
        self.fields = {"email": email, "slug": slug}
        mail.outbox.clear()
        signup_request(email=email, password="a sound passphrase 42", full_name="Load Test",
                       workspace_name=slug.replace("-", " ").title(), slug=slug)
        [message] = mail.outbox
        self.path = re.search(r"https?://[^/\s]+(/signup/confirm/[^/\s]+/)", message.body).group(1)
        page = server.get(self.path)
        assert page.status == 200, page.body[:300]
        self.token = _TOKEN.search(page.body.decode()).group(1)
        cookie = SimpleCookie(page.headers["set-cookie"])
        self.cookie = f"csrftoken={cookie['csrftoken'].value}"
        self.response = None

    def post(self, start: threading.Barrier) -> None:
        body = urlencode({"csrfmiddlewaretoken": self.token})
        start.wait()
        self.response = self.server.post(
            self.path, body=body, timeout=60,
            headers={"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"})

    def error(self) -> str:
        return " ".join(html.unescape(m).strip() for m in _ERROR.findall(self.response.body.decode()))


def test_twenty_signups_at_once_each_succeed_or_are_told_what_is_taken(gunicorn_factory, cleanup):
    # given 4 gunicorn workers and 20 people confirming their signups in the same instant: 14
    # addresses, three of them also wanted by someone else, three signups asked for twice (same
    # email, same address: two links)
    cleanup.append("load")
    server = gunicorn_factory(workers=4)
    people = [_Signup(server, email=f"p{i}@load.test", slug=f"load-{i:02d}") for i in range(14)]
    people += [_Signup(server, email=f"rival{i}@load.test", slug=f"load-{i:02d}") for i in range(3)]
    people += [_Signup(server, email=f"p{i}@load.test", slug=f"load-{i:02d}") for i in range(3, 6)]
    start = threading.Barrier(len(people))
    threads = [threading.Thread(target=p.post, args=(start,)) for p in people]

    # when they all press the button at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    # then each address went to exactly one of them, and every other was told, next to the field, why
    won = [p for p in people if p.response.status == 200]
    lost = [p for p in people if p.response.status != 200]
    assert all(b"Opening " in p.response.body for p in won)
    assert sorted(p.fields["slug"] for p in won) == [f"load-{i:02d}" for i in range(14)]
    assert {p.response.status for p in lost} == {400}, [(p.response.status, p.response.body[:300]) for p in lost]
    for person in lost:
        assert re.search(r"The address 'load-\d\d' is taken|This address already has an account",
                         person.error()), person.error()
    # and what is committed is exactly the winners': a schema per workspace, an owner each, no stray user
    workspaces = Workspace.objects.filter(slug__startswith="load-")
    assert _schemas("ws_load_") == {w.schema_name for w in workspaces}
    owners = {m.workspace.slug: m.user.email for m in Membership.objects.filter(workspace__in=workspaces)}
    assert owners == {p.fields["slug"]: p.fields["email"] for p in won}
    assert set(User.objects.filter(email__endswith="@load.test").values_list("email", flat=True)) == set(owners.values())


def test_deleted_workspace_keys_are_refused_by_every_worker_within_one_second(gunicorn_server, live_workspace_factory):
    # given a workspace whose key both workers have verified and cached
    live = live_workspace_factory("live-delete")
    workers = _warm_every_worker(gunicorn_server, "/api/v1/info", live.key_text)
    assert len(workers) == 2
    # when an operator deletes the workspace
    started = time.monotonic()
    workspace_delete(workspace=live.workspace, confirm="live-delete", actor=("operator", "tests"))
    # then from one second on every worker refuses its key, and its host names nothing
    responses = _poll_after(gunicorn_server, "/api/v1/info", live.key_text, started=started)
    late = [r for r in responses if r[0] > WITHIN]
    assert {pid for _, pid, _, _ in late} == workers
    assert all((status, code) == (401, "invalid_api_key") for _, _, status, code in late), late
    assert gunicorn_server.get("/login/", host=live.host).status == 404


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_workspace_create_hands_back_its_connection_once_committed(cleanup):
    # given a long-lived connection, as a web worker holds one
    cleanup.append("conn")
    before = _backend_pid()
    # when a workspace is provisioned on it and committed
    workspace_create(name="Conn", slug="conn-one")
    # then the backend that ran the DDL (and cached the new relations) is gone, not reused
    assert _backend_pid() != before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [before])
        assert cursor.fetchone()[0] == 0
