"""The Celery app as a worker loads it: the beat schedule sends only tasks a worker knows."""

import pytest

from config.celery import app


@pytest.fixture
def registered() -> set[str]:
    # What a worker does at start: import each installed app's tasks module (autodiscover_tasks)
    app.loader.import_default_modules()
    return set(app.tasks)


def test_beat_schedule_names_only_registered_tasks(registered):
    # given the beat schedule
    schedule = app.conf.beat_schedule
    # then each entry's task is one the worker has (else it logs "Received unregistered task")
    assert schedule
    assert {name: entry["task"] for name, entry in schedule.items() if entry["task"] not in registered} == {}


def test_registered_tasks_include_the_apps_tasks(registered):
    # the check above is only as good as the registry it reads
    assert {"metering.tasks.drain_usage", "tenants.tasks.apply_audit_retention", "core.tasks.backup_nightly",
            "accounts.tasks.notify_critical_event"} <= registered
