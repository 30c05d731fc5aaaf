"""deploy/monitoring: the alert rules and the dashboard query only metrics the app
exports, promtool accepts the rules and the Prometheus config, and the compose file
and Procfile define every process."""

import json
import re
import shutil
import subprocess

import yaml
from django.test import Client
from prometheus_client import REGISTRY

from tests.ops.servers import ROOT

DEPLOY = ROOT / "deploy"
MONITORING = DEPLOY / "monitoring"
# Series Prometheus writes itself for every target, not exported by any app.
PROMETHEUS_OWN = {"up"}
SUFFIXES = ("", "_total", "_created", "_bucket", "_count", "_sum")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: not functions, label names, keywords or durations."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # label values and strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def exported_names() -> set[str]:
    """Every sample name the app's /metrics can show (django-prometheus metrics exist after one request)."""
    Client(HTTP_HOST="localhost").get("/health/")
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def _alert_rules() -> list[dict]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "tollgate.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_metric_names_reads_selectors_not_functions_or_labels():
    # given an expression with functions, matchers, ranges, grouping and arithmetic
    expr = ('histogram_quantile(0.95, sum by (le, view) (rate(a_bucket{status=~"5..", view="x y"}[5m]))) '
            "/ on(job) group_left max(b_total) > 26 * 3600 and time() - c_seconds offset 1h")
    # when / then
    assert metric_names(expr) == {"a_bucket", "b_total", "c_seconds"}


def test_alert_rules_use_only_metrics_the_app_exports():
    # given the names the app exports and the rules' expressions
    exported = exported_names()
    # when
    used = {name for rule in _alert_rules() for name in metric_names(rule["expr"])}
    # then
    assert used - exported - PROMETHEUS_OWN == set()
    assert {"tollgate_backup_last_success_timestamp_seconds", "tollgate_usage_drain_lag_seconds",
            "django_http_requests_latency_seconds_by_view_method_bucket"} <= used


def test_alert_rules_cover_every_condition_operators_asked_for():
    # given
    rules = {rule["alert"]: rule["expr"] for rule in _alert_rules()}
    # then: 5xx over 5 %, p95 over 1 s, connections exhausted, payment failures over 10 %,
    # drain lag over 60 s, backup missing for 26 h
    assert "> 0.05" in rules["TollgateHigh5xxRate"] and 'status=~"5.."' in rules["TollgateHigh5xxRate"]
    assert "histogram_quantile(0.95" in rules["TollgateSlowResponses"] and "> 1" in rules["TollgateSlowResponses"]
    assert "tollgate_db_connections_max" in rules["TollgateDatabaseConnectionsExhausted"]
    assert "> 0.10" in rules["TollgatePaymentFailures"] and 'outcome="failed"' in rules["TollgatePaymentFailures"]
    assert "> 60" in rules["TollgateUsageDrainLagging"]
    assert "26 * 3600" in rules["TollgateBackupMissing"]
    for rule in _alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["runbook"].startswith("docs/operations.md#")


def test_alert_runbooks_exist_in_the_operations_guide():
    # given the headings of docs/operations.md, as GitHub anchors
    headings = re.findall(r"^#+\s+(.+)$", (ROOT / "docs" / "operations.md").read_text(), re.MULTILINE)
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    # then every rule's runbook points at one
    missing = [rule["alert"] for rule in _alert_rules() if rule["annotations"]["runbook"].split("#")[1] not in anchors]
    assert missing == []


def test_promtool_accepts_the_alert_rules():
    # given promtool (Debian's prometheus package; .ci/run installs it)
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: apt-get install prometheus"
    # when
    result = subprocess.run([promtool, "check", "rules", str(MONITORING / "alerts.yml")], capture_output=True, text=True)
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in result.stdout


def test_promtool_accepts_the_prometheus_config(tmp_path):
    # given the config and rules side by side, the token secret file where the container has it
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: apt-get install prometheus"
    token = tmp_path / "metrics_token"
    token.write_text("a-token\n")
    config = (MONITORING / "prometheus.yml").read_text()
    assert "credentials_file: /run/secrets/metrics_token" in config
    (tmp_path / "prometheus.yml").write_text(config.replace("/run/secrets/metrics_token", str(token)))
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    # when
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True,
                            text=True)
    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_shows_the_operator_panels_from_exported_metrics():
    # given
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "tollgate.json").read_text())
    titles = {panel["title"] for panel in dashboard["panels"]}
    # when
    used = {name for expr in _dashboard_exprs() for name in metric_names(expr)}
    # then
    assert {"Request rate by route", "5xx rate", "p95 latency", "Rate limits hit", "Usage drain lag",
            "Subscriptions created (24 h)", "Payments (1 h)"} <= titles
    assert used - exported_names() == set()
    assert all(panel["datasource"]["uid"] == "prometheus" for panel in dashboard["panels"])
    provisioned = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert provisioned["datasources"][0]["uid"] == "prometheus"


def test_compose_runs_every_process_with_its_files():
    # given
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    # then every process and monitoring service is there
    assert {"db", "redis", "web", "worker", "beat", "prometheus", "grafana", "alertmanager"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), (name, source)
    assert services["worker"]["environment"]["METRICS_WORKER_PORT"] == "9808"
    assert "PROMETHEUS_MULTIPROC_DIR" in services["web"]["environment"]
    # and the Procfile names the same three app processes
    procfile = dict(line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines()
                    if line and not line.startswith("#"))
    assert set(procfile) == {"web", "worker", "beat"}
    assert "deploy/gunicorn.conf.py" in procfile["web"] and "worker" in procfile["worker"]
