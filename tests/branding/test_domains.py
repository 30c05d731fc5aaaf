"""Custom domains verified for real, against a DNS server on loopback: success, wrong token,
NXDOMAIN, timeout; the daily recheck dropping a domain after repeated failures, with emails;
only verified domains served (with the workspace's branding); Caddy's ask endpoint."""

from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from auditing.models import AuditEvent
from branding import domains
from branding.services import branding_update
from branding.tasks import recheck_domains
from tenants.models import Domain
from tenants.services import domain_add, workspace_set_features
from tests.conftest import client_for


@pytest.fixture
def allowed(workspace):
    workspace_set_features(workspace=workspace, features={"custom_domain": True})
    return workspace


def _publish(dns_server, domain, value=None):
    dns_server.records[f"_tollgate.{domain.domain}"] = [value or domains.record_value(domain)]


def test_verify_finds_the_txt_record_and_serves_the_domain_with_branding(allowed, owner, dns_server, committed):
    # given a branded workspace, its domain added and its TXT record published
    branding_update(workspace=allowed, actor=owner, company_name="Acme Robotics", primary_color="#0b3d91",
                    secondary_color="", accent_color="", welcome_message="Hello from Acme", footer_text="",
                    custom_css="")
    domain = domains.custom_domain_add(workspace=allowed, domain="app.acme-robotics.test", actor=owner)
    client = Client(HTTP_HOST="app.acme-robotics.test")
    assert client.get("/login/").status_code == HTTPStatus.NOT_FOUND  # not served while unverified
    _publish(dns_server, domain)
    # when
    with committed():
        check = domains.custom_domain_verify(domain=domain, actor=owner)
    # then the server was asked, the domain is verified and audited
    assert check.ok, check.error
    assert "_tollgate.app.acme-robotics.test" in dns_server.queries
    domain.refresh_from_db()
    assert domain.verified_at is not None and domain.last_check_error == ""
    with schema_context(allowed.schema_name):
        assert AuditEvent.objects.filter(action="domain_verified").count() == 1
    # and the login page answers there, in the workspace's branding
    page = client.get("/login/")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "Log in to Acme Robotics" in html and "Hello from Acme" in html
    assert '<link rel="stylesheet" href="/branding/theme.css?v=1">' in html
    assert "--accent: #0b3d91" in client.get("/branding/theme.css?v=1").content.decode()


@pytest.mark.parametrize(("setup", "words"), [
    (lambda server, d: server.records.update({f"_tollgate.{d.domain}": ["tollgate-verify=someone-elses-token"]}),
     "not tollgate-verify="),
    (lambda server, d: None, "does not exist in DNS"),
    (lambda server, d: server.silent.add(f"_tollgate.{d.domain}"), "did not answer"),
])
def test_verify_fails_clearly_and_serves_nothing(allowed, owner, dns_server, setup, words, committed):
    # given a domain whose record is wrong, missing (NXDOMAIN) or never answered (timeout)
    domain = domains.custom_domain_add(workspace=allowed, domain="app.acme-robotics.test", actor=owner)
    setup(dns_server, domain)
    # when
    with committed():
        check = domains.custom_domain_verify(domain=domain, actor=owner)
    # then it is refused with what DNS said, recorded, and the domain is not served
    assert not check.ok and words in check.error, check.error
    domain.refresh_from_db()
    assert domain.verified_at is None and words in domain.last_check_error
    assert Client(HTTP_HOST="app.acme-robotics.test").get("/login/").status_code == HTTPStatus.NOT_FOUND


def test_daily_recheck_drops_after_repeated_failures_and_emails_owners(allowed, owner, dns_server, settings,
                                                                      committed):
    # given a verified domain whose record then disappears
    settings.DOMAIN_MAX_FAILURES = 3
    domain = domains.custom_domain_add(workspace=allowed, domain="app.acme-robotics.test", actor=owner)
    _publish(dns_server, domain)
    with committed():
        assert domains.custom_domain_verify(domain=domain, actor=owner).ok
    client = Client(HTTP_HOST="app.acme-robotics.test")
    assert client.get("/login/").status_code == HTTPStatus.OK
    dns_server.records.clear()
    mail.outbox.clear()
    # when the daily task runs twice: counted, emailed, still served
    for expected in (1, 2):
        with committed():
            assert recheck_domains.delay().get() == {"ok": 0, "failed": 1, "dropped": 0}
        domain.refresh_from_db()
        assert domain.check_failures == expected and domain.verified_at is not None
    assert client.get("/login/").status_code == HTTPStatus.OK
    assert [m.subject for m in mail.outbox] == [
        "[Acme] app.acme-robotics.test failed its DNS check (1 of 3)",
        "[Acme] app.acme-robotics.test failed its DNS check (2 of 3)"]
    assert mail.outbox[0].to == ["owner@acme.test"]
    assert "does not exist in DNS" in mail.outbox[0].body
    # and the third time: dropped, no longer served, the owners told
    with committed():
        assert recheck_domains.delay().get() == {"ok": 0, "failed": 0, "dropped": 1}
    domain.refresh_from_db()
    assert domain.verified_at is None
    assert client.get("/login/").status_code == HTTPStatus.NOT_FOUND
    assert mail.outbox[-1].subject == "[Acme] app.acme-robotics.test no longer serves your dashboard"
    with schema_context(allowed.schema_name):
        assert AuditEvent.objects.filter(action="domain_dropped").count() == 1


def test_daily_recheck_success_resets_the_failures(allowed, owner, dns_server, committed):
    domain = domains.custom_domain_add(workspace=allowed, domain="app.acme-robotics.test", actor=owner)
    _publish(dns_server, domain)
    with committed():
        domains.custom_domain_verify(domain=domain, actor=owner)
    dns_server.silent.add(f"_tollgate.{domain.domain}")
    with committed():
        recheck_domains.delay()
    dns_server.silent.clear()
    with committed():
        assert recheck_domains.delay().get() == {"ok": 1, "failed": 0, "dropped": 0}
    domain.refresh_from_db()
    assert domain.check_failures == 0 and domain.verified_at is not None


def test_custom_domain_needs_the_plan_feature(workspace, owner):
    from branding.errors import PlanUpgradeRequired

    with pytest.raises(PlanUpgradeRequired, match="Billing page"):
        domains.custom_domain_add(workspace=workspace, domain="app.acme-robotics.test", actor=owner)
    assert not Domain.objects.exists()


@pytest.mark.parametrize("name", ["localhost", "globex.localhost", "no-dot", "-bad-.test", "a..b.test", "x" * 250 + ".test"])
def test_domain_add_refuses_names_that_are_not_a_customers_domain(allowed, owner, name):
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        domains.custom_domain_add(workspace=allowed, domain=name, actor=owner)


def test_tls_ask_answers_200_only_for_served_hosts(allowed, owner, dns_server, committed):
    # given one verified and one pending domain
    verified = domains.custom_domain_add(workspace=allowed, domain="app.acme-robotics.test", actor=owner)
    domains.custom_domain_add(workspace=allowed, domain="pending.acme-robotics.test", actor=owner)
    _publish(dns_server, verified)
    with committed():
        domains.custom_domain_verify(domain=verified, actor=owner)
    ask = Client(HTTP_HOST="localhost")
    # then
    assert ask.get("/internal/tls-allowed?domain=app.acme-robotics.test").status_code == HTTPStatus.OK
    assert ask.get("/internal/tls-allowed?domain=APP.acme-robotics.test.").status_code == HTTPStatus.OK
    assert ask.get("/internal/tls-allowed?domain=acme.localhost").status_code == HTTPStatus.OK
    for name in ("pending.acme-robotics.test", "evil.test", "", "nobody.localhost"):
        assert ask.get(f"/internal/tls-allowed?domain={name}").status_code == HTTPStatus.NOT_FOUND, name
    # and not on a workspace's host (it is the platform's endpoint)
    assert client_for(allowed).get("/internal/tls-allowed?domain=evil.test").status_code == HTTPStatus.NOT_FOUND


def test_domains_of_b_are_unreachable_from_a(allowed, other_workspace, admin_user, admin_key, api_client,
                                             dns_server):
    # given B has a domain
    b_domain = domain_add(workspace=other_workspace, domain="globex-app.test")
    a_client = client_for(allowed, admin_user)
    # when A lists, reads, verifies or removes it by id (API and page)
    assert a_client.get("/api/v1/domains").json() == []
    for method, path in (("get", f"/api/v1/domains/{b_domain.pk}"), ("delete", f"/api/v1/domains/{b_domain.pk}"),
                         ("post", f"/api/v1/domains/{b_domain.pk}/verify"),
                         ("post", f"/branding/domains/{b_domain.pk}/verify/"),
                         ("post", f"/branding/domains/{b_domain.pk}/remove/")):
        assert getattr(a_client, method)(path).status_code == HTTPStatus.NOT_FOUND, path
    response = api_client.delete(f"/api/v1/domains/{b_domain.pk}", HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    # then B's domain is untouched and was never looked up
    assert Domain.objects.filter(pk=b_domain.pk, last_checked_at=None).exists()
    assert dns_server.queries == []


def test_domains_api_add_verify_remove(allowed, admin_key, api_client, dns_server, committed):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {admin_key[1]}"}
    created = api_client.post("/api/v1/domains", {"domain": "App.Acme-Robotics.test"}, format="json", **auth)
    assert created.status_code == HTTPStatus.CREATED, created.content
    body = created.json()
    assert body["domain"] == "app.acme-robotics.test" and body["verified"] is False
    assert body["txt_record"]["name"] == "_tollgate.app.acme-robotics.test"
    failed = api_client.post(f"/api/v1/domains/{body['id']}/verify", **auth)
    assert failed.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert failed.json()["code"] == "domain_verification_failed" and "does not exist" in failed.json()["detail"]
    dns_server.records[body["txt_record"]["name"]] = [body["txt_record"]["value"]]
    with committed():
        ok = api_client.post(f"/api/v1/domains/{body['id']}/verify", **auth)
    assert ok.status_code == HTTPStatus.OK and ok.json()["verified"] is True
    assert Client(HTTP_HOST="app.acme-robotics.test").get("/login/").status_code == HTTPStatus.OK
    with committed():
        assert api_client.delete(f"/api/v1/domains/{body['id']}", **auth).status_code == HTTPStatus.NO_CONTENT
    assert Client(HTTP_HOST="app.acme-robotics.test").get("/login/").status_code == HTTPStatus.NOT_FOUND
    assert api_client.get("/api/v1/domains/99999999999999999999", **auth).status_code == HTTPStatus.NOT_FOUND


def test_domain_page_flow(allowed, owner, dns_server, committed):
    page = client_for(allowed, owner)
    response = page.post("/branding/domains/", {"domain": "not a domain"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Enter a domain name such as app.example.com" in response.content.decode()
    response = page.post("/branding/domains/", {"domain": "app.acme-robotics.test"}, follow=True)
    html = response.content.decode()
    domain = Domain.objects.get(domain="app.acme-robotics.test")
    assert "_tollgate.app.acme-robotics.test" in html and domains.record_value(domain) in html
    html = page.post(f"/branding/domains/{domain.pk}/verify/", follow=True).content.decode()
    assert "is not verified" in html and "does not exist in DNS" in html
    _publish(dns_server, domain)
    with committed():
        html = page.post(f"/branding/domains/{domain.pk}/verify/", follow=True).content.decode()
    assert "is verified" in html




def test_caddyfile_example_asks_the_tls_endpoint():
    # the documented Caddy configuration points its `ask` at the path the public site serves
    from pathlib import Path

    from django.conf import settings
    from django.urls import resolve

    text = (Path(settings.BASE_DIR) / "deploy" / "Caddyfile.example").read_text()
    assert "ask http://web:8000/internal/tls-allowed" in text and "on_demand" in text
    assert resolve("/internal/tls-allowed", urlconf="config.urls_public").url_name == "tls-allowed"
