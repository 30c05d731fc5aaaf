"""/health/ and /health/ready: in-process against the machine's servers, and under real
gunicorn against throwaway PostgreSQL and Redis that the tests stop and start again."""

import time
from http import HTTPStatus

import pytest
from django.test import Client

from core.ops import backups
from tests.conftest import host_of
from tests.ops.servers import Gunicorn, ThrowawayPostgres, ThrowawayRedis


def test_live_answers_ok_without_touching_dependencies():
    # when
    response = Client(HTTP_HOST="localhost").get("/health/")
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_ready_checks_database_redis_broker_and_migrations():
    # when
    response = Client(HTTP_HOST="localhost").get("/health/ready")
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "broker": "ok", "migrations": "ok"},
    }


def test_ready_on_a_workspace_host_checks_the_public_migrations(workspace):
    # given a workspace host, whose schema records only its own apps' migrations
    client = Client(HTTP_HOST=host_of(workspace))
    # when
    response = client.get("/health/ready")
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json()["checks"]["migrations"] == "ok"


def test_ready_names_a_broker_it_cannot_reach(settings):
    # given a broker URL nobody listens on (a port just closed)
    from tests.ops.servers import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    # when
    response = Client(HTTP_HOST="localhost").get("/health/ready")
    # then
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"].startswith("failing: ")
    assert body["checks"]["database"] == body["checks"]["redis"] == "ok"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn (2 workers) on a throwaway PostgreSQL 18, loaded from a dump of the test
    database so every migration is applied, and a throwaway Redis as cache and broker."""
    pg, redis_server, server = ThrowawayPostgres(), ThrowawayRedis(), None
    try:
        pg.init()
        pg.start()
        pg.createdb("tollgate")
        seed = tmp_path_factory.mktemp("seed") / "seed.dump"
        with django_db_blocker.unblock():
            backups.dump(target=backups.Target.default(), path=seed)
        backups.restore(archive=seed, target=backups.Target.from_url(pg.url()))
        redis_server.start()
        server = Gunicorn(env={"DATABASE_URL": pg.url(), "REDIS_URL": redis_server.url,
                               "CELERY_BROKER_URL": redis_server.url})
        server.start()
        yield {"pg": pg, "redis": redis_server, "server": server}
    finally:
        if server is not None:
            server.remove()
        redis_server.destroy()
        pg.remove()


def _ready(server) -> tuple[int, dict]:
    return server.json("GET", "/health/ready")


def _wait_ready(server, expected: int, timeout: float = 20.0) -> tuple[int, dict]:
    """Poll readiness until it answers `expected` (both workers: several probes in a row)."""
    deadline = time.monotonic() + timeout
    streak, last = 0, None
    while time.monotonic() < deadline:
        last = _ready(server)
        streak = streak + 1 if last[0] == expected else 0
        if streak >= 4:
            return last
        time.sleep(0.2)
    return last


@pytest.mark.live
def test_ready_fails_while_redis_is_stopped_and_recovers(stack):
    # given a ready server
    server, redis_server = stack["server"], stack["redis"]
    assert _wait_ready(server, 200)[0] == HTTPStatus.OK
    # when Redis stops
    redis_server.stop()
    status, body = _wait_ready(server, 503)
    # then readiness is 503 naming Redis and the broker (the same server here), the database still fine
    assert status == HTTPStatus.SERVICE_UNAVAILABLE
    assert body["failing"] == ["redis", "broker"]
    assert body["checks"]["database"] == "ok"
    assert server.request("GET", "/health/")[0] == HTTPStatus.OK  # alive all along
    # when Redis comes back
    redis_server.start()
    status, body = _wait_ready(server, 200)
    # then
    assert status == HTTPStatus.OK
    assert body["status"] == "ok"


@pytest.mark.live
def test_ready_fails_while_postgres_is_stopped_and_recovers(stack):
    # given a ready server
    server, pg = stack["server"], stack["pg"]
    assert _wait_ready(server, 200)[0] == HTTPStatus.OK
    # when PostgreSQL stops
    pg.stop()
    status, body = _wait_ready(server, 503)
    # then readiness is 503 naming the database; migrations can't be told without it
    assert status == HTTPStatus.SERVICE_UNAVAILABLE
    assert body["failing"] == ["database"]
    assert body["checks"]["migrations"] == "unknown: database failing"
    assert body["checks"]["redis"] == "ok"
    assert server.request("GET", "/health/")[0] == HTTPStatus.OK
    # when PostgreSQL comes back
    pg.start()
    status, body = _wait_ready(server, 200)
    # then
    assert status == HTTPStatus.OK
    assert body["checks"] == {"database": "ok", "redis": "ok", "broker": "ok", "migrations": "ok"}
