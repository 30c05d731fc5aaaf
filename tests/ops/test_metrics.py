"""/metrics: refused without the token or an allowed address; after traffic it shows
requests by route and status, and every Tollgate metric. Under gunicorn the workers'
values add up (multiprocess mode), and the Celery worker serves its own."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from http import HTTPStatus

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.servers import ROOT, Gunicorn, free_port, wait_port

TOKEN = "metrics-token-for-tests-0123456789"
TOLLGATE_METRICS = [
    "tollgate_rate_limit_exceeded", "tollgate_usage_events_ingested", "tollgate_usage_drain_lag_seconds",
    "tollgate_metering_fail_open", "tollgate_subscriptions_created", "tollgate_payments", "tollgate_invoices",
    "tollgate_celery_task_failures", "tollgate_db_connections_in_use", "tollgate_db_connections_max",
    "tollgate_backup_last_success_timestamp_seconds",
]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and wanted <= set(sample_labels))


def _scrape(client: Client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == HTTPStatus.OK
    return _samples(response.content.decode())


def test_metrics_without_token_is_401_with_no_body(settings):
    # given a token is configured and no address is allowed
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, []
    client = Client(HTTP_HOST="localhost")
    # when
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    api_key_instead = client.get("/metrics", HTTP_X_API_KEY=TOKEN)
    # then
    for response in (missing, wrong, api_key_instead):
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response.content == b""
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_metrics_with_nothing_configured_is_403_with_no_body(settings):
    # given neither a token nor an allowed address
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    # when
    response = Client(HTTP_HOST="localhost").get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.content == b""


def test_metrics_from_an_allowed_address_needs_no_token(settings):
    # given the loopback range is allowed
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, ["10.0.0.0/8", "127.0.0.0/8"]
    # when
    allowed = Client(HTTP_HOST="localhost", REMOTE_ADDR="127.0.0.1").get("/metrics")
    other = Client(HTTP_HOST="localhost", REMOTE_ADDR="192.0.2.7").get("/metrics")
    # then
    assert allowed.status_code == HTTPStatus.OK
    assert allowed["Content-Type"].startswith("text/plain")
    assert other.status_code == HTTPStatus.UNAUTHORIZED


def test_metrics_present_after_traffic(settings, workspace, owner):
    # given a key allowed one request per second, and the counters before any traffic
    from apikeys.services import apikey_create

    settings.METRICS_TOKEN = TOKEN
    _, key = apikey_create(workspace=workspace, name="burst", scopes=["read", "write"], actor=owner, burst_limit=1)
    client = Client(HTTP_HOST="localhost")
    before = _scrape(client)
    # when: three health probes, an unauthenticated API call, and two metered calls (the second refused)
    for _ in range(3):
        client.get("/health/")
    client.get("/api/v1/limits")
    metered = [client.post("/api/v1/analyze", {"text": "I love this API"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}") for _ in range(2)]
    after = _scrape(client)
    # then requests are counted by route and status, with latency histograms
    assert [r.status_code for r in metered] == [HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    responses = "django_http_responses_total_by_status_view_method_total"
    assert _value(after, responses, view="health", status="200") - _value(before, responses, view="health",
                                                                          status="200") == 3
    assert _value(after, responses, view="api-limits", status="401") - _value(before, responses, view="api-limits",
                                                                              status="401") == 1
    assert _value(after, "django_http_requests_latency_seconds_by_view_method_count", view="health") >= 3
    assert _value(after, "django_http_requests_latency_seconds_by_view_method_bucket", view="health", le="+Inf") >= 3
    # and the refusal is counted by plan and window
    refused = "tollgate_rate_limit_exceeded_total"
    assert _value(after, refused) - _value(before, refused) == 1
    grown = [dict(labels) for (name, labels), value in after.items()
             if name == refused and value > _value(before, refused, **dict(labels))]
    assert len(grown) == 1 and grown[0]["plan"] and grown[0]["window"]
    # and the platform gauges are measured at scrape
    assert _value(after, "tollgate_db_connections_in_use") >= 1
    assert _value(after, "tollgate_db_connections_max") > _value(after, "tollgate_db_connections_in_use")


def test_metrics_page_lists_every_tollgate_metric(settings):
    # given
    settings.METRICS_TOKEN = TOKEN
    # when
    page = Client(HTTP_HOST="localhost").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    # then every metric other apps increment is declared, with its help text
    for name in TOLLGATE_METRICS:
        assert f"# HELP {name}" in page, name


@pytest.mark.live
def test_metrics_under_gunicorn_add_up_every_worker():
    # given gunicorn with two workers, each counting in its own file
    server = Gunicorn(env={"METRICS_TOKEN": TOKEN}, workers=2)
    server.start()
    health_200 = {"view": "health", "status": "200"}
    responses = "django_http_responses_total_by_status_view_method_total"
    try:
        before = _samples(server.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[2].decode())
        # when 20 probes arrive (spread over both workers), then one worker dies and is replaced
        for _ in range(20):
            assert server.request("GET", "/health/")[0] == HTTPStatus.OK
        pids = {int(p) for p in subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True,
                                               text=True).stdout.split()}
        os.kill(next(iter(pids)), signal.SIGKILL)
        time.sleep(1.0)
        status, _, body = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        refused = server.request("GET", "/metrics")[0]
    finally:
        server.remove()
    # then the page adds up both workers' counts, the dead one's included
    assert status == HTTPStatus.OK
    assert refused == HTTPStatus.UNAUTHORIZED
    samples = _samples(body.decode())
    assert _value(samples, responses, **health_200) - _value(before, responses, **health_200) == 20
    assert len(pids) == 2


@pytest.mark.live
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant to reach the worker
def test_celery_worker_serves_task_failures_on_its_metrics_port(tmp_path):
    # given a Celery worker (prefork, one pool process) serving metrics on a free port
    from django.conf import settings

    from config.celery import app

    port = free_port()
    (tmp_path / "worker-metrics").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "METRICS_WORKER_PORT": str(port),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics"), "REDIS_URL": settings.REDIS_URL,
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                               "--concurrency", "1", "--without-heartbeat", "--without-gossip", "--without-mingle",
                               "-l", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port, timeout=60)
        # when a task fails (called with an argument it does not take)
        app.send_task("core.tasks.backup_nightly", args=["unexpected"])
        deadline, failures = time.monotonic() + 30, 0.0
        while time.monotonic() < deadline and not failures:
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            failures = _value(_samples(page), "tollgate_celery_task_failures_total", task="core.tasks.backup_nightly")
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    # then the worker's exporter counts it, by task name
    assert failures == 1
