"""Shared fixtures: real PostgreSQL (one test database per run) and real Redis.

`workspace` (acme) and `other_workspace` (globex) are cloned once per test module,
inside a transaction held open for the module; each test's own transaction
(pytest-django's) nests inside it as a savepoint, so a test sees them exactly as
created and its changes roll back. A clone is ~85 DDL statements (~0.3 s): once per
test, cloning dominated the suite's time. Tests that commit make their own workspaces.
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Membership
from accounts.permissions import Role
from core import invalidation
from core.redis import get_redis
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True, scope="session")
def _no_background_last_used_writes():
    """The last-used writer thread a key-authenticated request starts would otherwise wake
    every minute and write between tests, where pytest-django forbids the database (and log
    the refusal). Tests call last_used.flush() themselves."""
    from apikeys import last_used

    last_used.FLUSH_SECONDS = 10**9


@pytest.fixture(autouse=True, scope="session")
def _no_background_request_stats_flushes():
    """The same for the request analytics' flush thread (metering/analytics/recorder.py): tests
    flush themselves; what is left at the end is dropped, not flushed at exit into a Redis
    database the next run starts from."""
    from metering.analytics import recorder

    recorder.FLUSH_SECONDS = 10**9
    yield
    recorder.take()


@pytest.fixture(autouse=True)
def _clean_state():
    """Each test starts with an empty Redis DB and empty in-process caches."""
    from metering.analytics import recorder

    get_redis().flushdb()
    invalidation._dispatch("all")
    recorder.take()  # what earlier tests' requests recorded
    yield
    invalidation._dispatch("all")


@pytest.fixture
def own_redis(settings):
    """A throwaway Redis of the test's own (tests.servers), made the app's: tests may stop it."""
    from core import redis as tenant_redis
    from tests.servers import ThrowawayRedis

    server = ThrowawayRedis().start()
    settings.REDIS_URL = server.url
    tenant_redis.reset()
    yield server
    server.destroy()
    tenant_redis.reset()


@pytest.fixture(autouse=True)
def _db_for_all(db):
    """Every test may use the database (rolled back after each)."""


def make_workspace(slug="acme", name=None):
    from tenants.services import workspace_create

    return workspace_create(name=name or slug.title(), slug=slug)


def add_member(workspace, role=Role.MEMBER, email=None, **kw):
    user = UserFactory(**({"email": email} if email else {}))
    Membership.objects.create(user=user, workspace=workspace, role=role, **kw)
    return user


def host_of(workspace) -> str:
    return f"{workspace.slug}.{settings.BASE_DOMAIN}"


def client_for(workspace=None, user=None) -> Client:
    """A browser-like client on the workspace's host (public host when None), logged in as `user`."""
    host = host_of(workspace) if workspace is not None else settings.BASE_DOMAIN
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


def _held_for_the_module(slug, django_db_blocker):
    """Create workspace `slug` inside a transaction that stays open until the module ends."""
    from django.db import transaction

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
    from tenants.models import Workspace

    # A fresh instance each test: a test that changes its copy (status) can't leak into the next.
    return Workspace.objects.get(pk=_module_acme)


@pytest.fixture
def other_workspace(_module_globex):
    from tenants.models import Workspace

    return Workspace.objects.get(pk=_module_globex)


@pytest.fixture
def owner(workspace):
    return add_member(workspace, Role.OWNER, email="owner@acme.test")


@pytest.fixture
def admin_user(workspace):
    return add_member(workspace, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def manager(workspace):
    return add_member(workspace, Role.MANAGER, email="manager@acme.test")


@pytest.fixture
def member(workspace):
    return add_member(workspace, Role.MEMBER, email="member@acme.test")


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_key(workspace, owner):
    """(ApiKey row, full key text) with read and write scopes."""
    from apikeys.services import apikey_create

    return apikey_create(workspace=workspace, name="test key", scopes=["read", "write"], actor=owner)


@pytest.fixture
def admin_key(workspace, owner):
    from apikeys.services import apikey_create

    return apikey_create(workspace=workspace, name="admin key", scopes=["read", "write", "admin"], actor=owner)


@pytest.fixture
def api_client():
    """An API client on the public host; pass the key per request."""
    from rest_framework.test import APIClient

    return APIClient(HTTP_HOST="localhost")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): change()` runs, at the end of the block, what the change's commit would
    run (invalidations, tasks): a test's own transaction never commits, and caches are
    invalidated only once a change has committed (core.invalidation.publish)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
