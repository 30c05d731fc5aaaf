"""A member of workspace A sees nothing of workspace B: every workspace page is a 404 for them.

The pages are enumerated from config.urls, so a page added later is covered without
touching this file. A new URL parameter needs a sample value in SAMPLES below (the
test fails and says so until it has one).
"""

import re
import uuid
from http import HTTPStatus

import pytest
from django.urls import URLPattern, URLResolver

import config.urls as workspace_urls
from accounts.permissions import Role
from accounts.services import invitation_create
from apikeys.models import ApiKey
from apikeys.services import apikey_create
from config.urls_common import common_patterns
from tenants.models import Domain
from tenants.services import domain_add
from tests.accounts.helpers import invitation_state, membership_state
from tests.conftest import add_member, client_for

# Served on every host by design, each with its own isolation tests: the login and
# password-reset pages must open on B's host for B's members to log in; health is
# for load balancers; the API resolves its workspace from the key (tests/apikeys).
SHARED_BY_DESIGN = {id(p) for p in common_patterns}
# Pages whose only input is a one-time token naming its own workspace. B's host
# refuses A's token: tests/accounts/test_invitations.py (wrong workspace, 400 page)
# and tests/accounts/test_signup.py (handoff of another workspace signs nobody in).
TOKEN_PAGES = {"handoff", "invitation"}
# The host's own theme and images: public by design (its login page shows them, before anyone
# signs in), and each host serves only its own workspace's (tests/branding/test_views.py).
BRAND_ASSETS = {"branding-theme", "branding-logo", "branding-favicon"}

POST_DATA = {"role": Role.OWNER, "email": "intruder@elsewhere.test", "password": "a sound passphrase 42"}
_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _walk(patterns, prefix=""):
    for entry in patterns:
        if id(entry) in SHARED_BY_DESIGN:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def workspace_pages() -> list[tuple[str, str | None]]:
    """(route, name) of every page of a workspace host, from config.urls."""
    return [(route, name) for route, name in _walk(workspace_urls.urlpatterns) if name not in TOKEN_PAGES | BRAND_ASSETS]


def _url(route: str, samples: dict) -> tuple[str, bool]:
    """The route with its parameters filled; True when every one had a real sample."""
    guessed = []

    def fill(match):
        name, converter = match.group("name"), match.group("converter") or "str"
        if name in samples:
            return str(samples[name])
        guessed.append(name)
        fallback = {"int": samples["membership_id"], "uuid": uuid.uuid4(), "slug": "acme", "str": "x", "path": "x"}
        assert converter in fallback, f"add a sample for <{converter}:{name}> in {__name__}"
        return str(fallback[converter])

    assert "^" not in route, f"re_path {route!r}: give it a sample URL in {__name__}"
    url = "/" + _PARAM.sub(fill, route)
    return url, not guessed


def _samples(workspace, owner) -> dict:
    """Real ids of `workspace`'s objects, so a 404 means 'not yours', not 'no such row'.

    A parameter with no sample here still gets a placeholder (int: a real membership id).
    """
    member = add_member(workspace, Role.MEMBER)
    invitation, _ = invitation_create(workspace=workspace, email=f"guest@{workspace.slug}.test", role=Role.MEMBER,
                                      actor=owner.memberships.get(workspace=workspace))
    key, _ = apikey_create(workspace=workspace, name="sample key", actor=owner)
    domain = domain_add(workspace=workspace, domain=f"app.{workspace.slug}-example.test", actor=owner)
    return {
        "domain_id": domain.pk,
        "membership_id": member.memberships.get().pk,
        "invitation_id": invitation.pk,
        "status": "suspend",
        "key_id": key.key_id,
    }


def _state():
    return (membership_state(), invitation_state(), list(ApiKey.objects.order_by("pk").values()),
            list(Domain.objects.order_by("pk").values()))


def test_workspace_pages_are_enumerated():
    # when / then the enumeration must see the dashboard and the member actions, or the test below proves nothing
    routes = {route for route, _ in workspace_pages()}
    assert {"", "members/", "members/<int:membership_id>/role/", "invitations/<int:invitation_id>/revoke/"} <= routes


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_page_of_another_workspace_is_404_for_a_member(method, workspace, owner, other_workspace):
    # given acme's owner, and globex with real members and a pending invitation
    globex = other_workspace
    globex_owner = add_member(globex, Role.OWNER, email="owner@globex.test")
    samples = _samples(globex, globex_owner)
    before = _state()
    intruder = client_for(globex, owner)  # acme's owner, signed in, on globex's host

    for route, name in workspace_pages():
        for status in (["suspend", "reactivate"] if "<str:status>" in route else [None]):
            url, real_ids = _url(route, {**samples, **({"status": status} if status else {})})
            # when
            response = intruder.post(url, POST_DATA) if method == "post" else intruder.get(url)
            # then
            assert response.status_code == HTTPStatus.NOT_FOUND, f"{method.upper()} {url} ({name})"
            assert b"owner@globex.test" not in response.content
            assert b"guest@globex.test" not in response.content
            if method == "get" and real_ids:  # control: the same page exists for globex's own owner
                assert client_for(globex, globex_owner).get(url).status_code != HTTPStatus.NOT_FOUND, url
    assert _state() == before


def test_another_workspaces_member_ids_are_404_on_your_own_host(workspace, owner, other_workspace):
    # given globex's owner, signed in on globex, and acme's real member and invitation ids
    acme_samples = _samples(workspace, owner)
    globex = other_workspace
    globex_owner = add_member(globex, Role.OWNER, email="owner@globex.test")
    client = client_for(globex, globex_owner)
    before = _state()
    id_routes = [(route, name) for route, name in workspace_pages() if "_id>" in route]
    assert id_routes

    for route, name in id_routes:
        for status in (["suspend", "reactivate"] if "<str:status>" in route else [None]):
            url, _ = _url(route, {**acme_samples, **({"status": status} if status else {})})
            # when globex's owner aims acme's ids at their own workspace
            response = client.post(url, POST_DATA)
            # then acme's rows are simply not found there, and nothing changes
            assert response.status_code == HTTPStatus.NOT_FOUND, f"POST {url} ({name})"
    assert _state() == before


def test_member_of_both_workspaces_sees_each_only_on_its_own_host(workspace, owner, other_workspace):
    # given a person in acme (member) and in globex (owner)
    globex = other_workspace
    add_member(globex, Role.OWNER, email="owner@globex.test")
    both = add_member(workspace, Role.MEMBER, email="both@test.test")
    both.memberships.create(workspace=globex, role=Role.OWNER)
    # when
    acme_page = client_for(workspace, both).get("/members/")
    globex_page = client_for(globex, both).get("/members/")
    # then each host lists its own people only, with the role held there
    assert b"owner@acme.test" in acme_page.content and b"owner@globex.test" not in acme_page.content
    assert b"owner@globex.test" in globex_page.content and b"owner@acme.test" not in globex_page.content
    assert b"Send invitation" not in acme_page.content  # a member here
    assert b"Send invitation" in globex_page.content  # an owner there


def test_django_admin_is_not_served_on_a_workspace_host(workspace, owner):
    # given an operator who is also acme's owner
    type(owner).objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    # when / then admin exists only on the public host
    assert client_for(workspace, owner).get("/admin/").status_code == HTTPStatus.NOT_FOUND
