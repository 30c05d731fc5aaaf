"""Shared fixtures: real PostgreSQL (one test database per run) and real Redis.

Workspaces are created by cloning the template schema inside each test's
transaction, so they vanish with the rollback.
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Membership
from accounts.permissions import Role
from tenants import invalidation
from tenants.redis import get_redis
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _clean_state():
    """Each test starts with an empty Redis DB and empty in-process caches."""
    get_redis().flushdb()
    invalidation._dispatch("all")
    yield
    invalidation._dispatch("all")


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


@pytest.fixture
def workspace():
    return make_workspace("acme")


@pytest.fixture
def other_workspace():
    return make_workspace("globex")


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
