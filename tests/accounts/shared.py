"""Workspaces cloned once per test module instead of once per test.

A clone is ~85 DDL statements; with one per test the accounts and tenants suites
spent most of their time cloning. Here acme and globex are created once, inside a
transaction held open for the module, and each test's own transaction (pytest-django's)
nests inside it as a savepoint: a test sees them exactly as created and its changes
roll back as before. Tests that commit (`committed`) can't use these: they make their own.
"""

import pytest
from django.db import transaction

from tenants.models import Workspace
from tests.conftest import make_workspace


def _held_for_the_module(slug, django_db_blocker):
    """Create workspace `slug` inside a transaction that stays open until the module ends."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            pk = make_workspace(slug).pk
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield pk
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _module_acme(django_db_setup, django_db_blocker):
    yield from _held_for_the_module("acme", django_db_blocker)


@pytest.fixture(scope="module")
def _module_globex(django_db_setup, django_db_blocker):
    # Nested in acme's transaction when both are used; module fixtures unwind in reverse order.
    yield from _held_for_the_module("globex", django_db_blocker)


@pytest.fixture
def workspace(_module_acme):
    # A fresh instance each test: a test that changes its copy (status) can't leak into the next.
    return Workspace.objects.get(pk=_module_acme)


@pytest.fixture
def other_workspace(_module_globex):
    return Workspace.objects.get(pk=_module_globex)
