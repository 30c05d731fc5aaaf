"""Every emailed link is built from the configured site URL, never from the request's Host.

Found by an outside tester: a reset asked for on another workspace's host, on
`localhost:1337` or on a verified custom domain was emailed with a link on that host,
valid there (issue 18, finding 4).
"""

import re
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from accounts.permissions import Role
from auditing.services import record
from metering.tasks import quota_alert
from tenants.services import domain_add, domain_check_record
from tests.conftest import client_for

# Unlike any host a test request uses: a link that followed the request could not match it.
SITE = "https://{host}:8443"
PUBLIC = "https://localhost:8443"
ACME = "https://acme.localhost:8443"
NEW_PASSWORD = "a brand new passphrase 7"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL_TEMPLATE = SITE


@pytest.fixture
def custom_domain(workspace):
    domain = domain_add(workspace=workspace, domain="api.acme.test")
    domain_check_record(domain=domain, ok=True)  # what branding.domains records when the TXT record is found
    return "api.acme.test"


def _links(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


@pytest.mark.parametrize("host", ["globex.localhost", "localhost:1337", "api.acme.test", "acme.localhost"])
def test_password_reset_link_is_on_the_configured_site_whatever_the_host(workspace, other_workspace, member,
                                                                         custom_domain, host):
    # given a member of acme asking for a reset on some host that serves the reset page
    response = Client(HTTP_HOST=host).post("/password-reset/", {"email": member.email})
    assert response.status_code == HTTPStatus.FOUND
    # then the emailed link is on the configured public site, not on the host that was asked
    [message] = mail.outbox
    [link] = _links(message)
    assert link.startswith(f"{PUBLIC}/password-reset/"), link
    # and it works there: the new password is set
    path = urlsplit(link).path
    browser = Client(HTTP_HOST="localhost")
    form = browser.get(path, follow=True)
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/password-reset/done/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("host", ["api.acme.test", "acme.localhost"])
def test_invitation_link_is_on_the_workspaces_configured_subdomain(workspace, owner, custom_domain, host,
                                                                   django_capture_on_commit_callbacks):
    # given an owner inviting from the workspace on its custom domain, or its subdomain
    client = Client(HTTP_HOST=host)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/members/", {"email": "new@example.test", "role": Role.MEMBER})
    assert response.status_code == HTTPStatus.FOUND
    # then the link is on acme's subdomain of the configured base domain, with the configured scheme
    [link] = _links(mail.outbox[0])
    assert link.startswith(f"{ACME}/invite/"), link


def test_critical_event_email_links_to_the_workspaces_audit_log_on_the_configured_site(
        workspace, owner, django_capture_on_commit_callbacks):
    # when a critical event commits in acme
    with django_capture_on_commit_callbacks(execute=True):
        record(action="payment_failed", severity="critical", workspace=workspace)
    # then its email links to acme's audit page on the configured site
    assert _links(mail.outbox[0]) == [f"{ACME}/audit/"]


def test_critical_platform_event_email_links_to_the_operator_console(settings,
                                                                     django_capture_on_commit_callbacks):
    # given operators
    settings.ADMINS = [("Ops", "ops@tollgate.test")]
    # when a critical platform event commits
    with django_capture_on_commit_callbacks(execute=True):
        record(action="backup_failed", severity="critical")
    # then the link is the console's event list on the configured public site
    assert _links(mail.outbox[0]) == [f"{PUBLIC}/admin/auditing/auditevent/"]


def test_quota_alert_email_links_to_the_workspaces_dashboard_on_the_configured_site(workspace, owner):
    # when acme's quota crosses 80 %
    quota_alert(workspace_id=workspace.pk, meter="requests", window="day", limit=100, used=80, percent=80, reset=0)
    # then the owners' email links to acme's dashboard on the configured site
    assert _links(mail.outbox[0]) == [f"{ACME}/"]


def test_emailed_links_follow_a_changed_site_setting(settings, workspace, member):
    # given the site served over plain HTTP on another port (as make run does)
    settings.SITE_URL_TEMPLATE = "http://{host}:8000"
    # when a reset is asked for on the workspace's host
    client_for(workspace).post("/password-reset/", {"email": member.email})
    # then the link follows the setting
    [link] = _links(mail.outbox[0])
    assert link.startswith("http://localhost:8000/password-reset/")
