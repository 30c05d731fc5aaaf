"""Revocation and suspension reach every gunicorn worker within a second (Redis pub/sub)."""

import time

import pytest

from apikeys.services import apikey_revoke
from tenants.services import workspace_set_status

pytestmark = pytest.mark.live

WITHIN = 1.0  # seconds: the bound for every process


def _warm_every_worker(server, path, key) -> set[int]:
    """One request to each worker by name (its own port), each answered 200 by that worker: every
    worker then holds the key in its cache. Addressed, not hoped for: sent to the shared port,
    400 requests once all went to one worker on a loaded machine (issue 18)."""
    workers = server.each_worker()
    assert len(workers) == server.workers, workers
    for pid in workers:
        response = server.get(path, key=key, worker=pid)
        assert (response.status, response.pid) == (200, pid), (response.status, response.body)
    return set(workers)


def _poll_after(server, path, key, *, started: float, until_each_worker: int = 5, give_up_after: float = 10.0):
    """Responses (elapsed seconds, pid, status, code) from `started`, asking each worker in turn,
    until every worker has answered `until_each_worker` times after the bound."""
    seen = []
    late: dict[int, int] = {}
    workers = server.each_worker()
    while time.monotonic() - started < give_up_after:
        for pid in workers:
            response = server.get(path, key=key, worker=pid)
            elapsed = time.monotonic() - started
            assert response.pid == pid
            seen.append((elapsed, response.pid, response.status, response.code))
            if elapsed > WITHIN:
                late[pid] = late.get(pid, 0) + 1
        if len(late) == len(workers) and min(late.values()) >= until_each_worker:
            return seen
        time.sleep(0.005)
    pytest.fail(f"answers per worker after {WITHIN}s: {late}")


def test_revoked_key_is_refused_by_every_worker_within_one_second(gunicorn_server, live_workspace_factory):
    # given a key that both gunicorn workers have verified and cached
    live = live_workspace_factory("live-revoke")
    path = f"/api/v1/keys/{live.key.key_id}"
    workers = _warm_every_worker(gunicorn_server, path, live.key_text)
    assert len(workers) == 2
    # when it is revoked (committed, invalidation published) in another process: this one
    started = time.monotonic()
    apikey_revoke(key=live.key, actor=live.owner)
    # then from one second on, every worker refuses it, every time
    responses = _poll_after(gunicorn_server, path, live.key_text, started=started)
    late = [r for r in responses if r[0] > WITHIN]
    assert {pid for _, pid, _, _ in late} == workers
    assert all((status, code) == (401, "api_key_revoked") for _, _, status, code in late), late
    # and no worker accepted it again once it had refused it
    for pid in workers:
        statuses = [status for _, p, status, _ in responses if p == pid]
        assert 200 not in statuses[statuses.index(401):]


def test_suspended_workspace_is_refused_by_every_worker_within_one_second(gunicorn_server, live_workspace_factory):
    # given a key both workers have cached, and its workspace's host cached too
    live = live_workspace_factory("live-suspend")
    workers = _warm_every_worker(gunicorn_server, "/api/v1/info", live.key_text)
    assert len(workers) == 2
    # when the workspace is suspended
    started = time.monotonic()
    workspace_set_status(workspace=live.workspace, status="suspended")
    # then every worker refuses the key within a second
    responses = _poll_after(gunicorn_server, "/api/v1/info", live.key_text, started=started)
    late = [r for r in responses if r[0] > WITHIN]
    assert {pid for _, pid, _, _ in late} == workers
    assert all((status, code) == (403, "workspace_suspended") for _, _, status, code in late), late


def test_other_keys_keep_working_after_a_revoke(gunicorn_server, live_workspace_factory):
    # given two keys of one workspace, both in use
    live = live_workspace_factory()
    other, other_text = live.new_key(scopes=["read"])
    _warm_every_worker(gunicorn_server, "/api/v1/info", live.key_text)
    _warm_every_worker(gunicorn_server, "/api/v1/info", other_text)
    # when one is revoked
    apikey_revoke(key=live.key, actor=live.owner)
    time.sleep(WITHIN)
    # then the other still works on every worker
    _warm_every_worker(gunicorn_server, "/api/v1/info", other_text)


def test_live_server_serves_workspace_hosts_and_problems(gunicorn_server, live_workspace_factory):
    # given
    live = live_workspace_factory()
    # when
    own_host = gunicorn_server.get("/api/v1/info", host=live.host, key=live.key_text)
    no_key = gunicorn_server.get("/api/v1/info")
    # then
    assert own_host.status == 200
    assert own_host.json()["workspace"]["slug"] == "live-acme"
    assert own_host.headers["x-request-id"]
    assert no_key.status == 401
    assert no_key.code == "authentication_required"
    assert no_key.headers["www-authenticate"].startswith("Bearer")
