"""Custom domains, verified for real: a TXT record `_tollgate.<domain>` must hold the value
`tollgate-verify=<the domain's token>`, looked up with dnspython when the owner asks and
every day after (branding.tasks). What a check found is written by tenants.services.
domain_check_record, the one place a domain becomes verified or is dropped.

The resolver is the system's unless DNS_NAMESERVERS is set (DNS_PORT, DNS_TIMEOUT): tests
run a DNS server of their own on loopback.
"""

from dataclasses import dataclass

import dns.exception
import dns.resolver
from django.conf import settings

from branding.errors import upgrade_required
from core.types import Actor
from tenants.models import Domain, Workspace
from tenants.selectors import domains_verified, workspace_has_feature
from tenants.services import domain_add, domain_check_record

PREFIX = "_tollgate"


def record_name(domain: Domain) -> str:
    return f"{PREFIX}.{domain.domain}"


def record_value(domain: Domain) -> str:
    return f"tollgate-verify={domain.verification_token}"


@dataclass
class Check:
    ok: bool
    error: str = ""


def _resolver() -> dns.resolver.Resolver:
    if settings.DNS_NAMESERVERS:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(settings.DNS_NAMESERVERS)
    else:
        resolver = dns.resolver.Resolver()
    resolver.port = settings.DNS_PORT
    resolver.lifetime = settings.DNS_TIMEOUT
    resolver.timeout = settings.DNS_TIMEOUT
    resolver.cache = None  # a record just added must be seen at once (our side caches nothing)
    return resolver


def txt_lookup(domain: Domain) -> Check:
    """Whether the domain's TXT record holds its token; otherwise what DNS said."""
    name, expected = record_name(domain), record_value(domain)
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return Check(False, f"{name} does not exist in DNS. Add a TXT record there with the value {expected}.")
    except dns.resolver.NoAnswer:
        return Check(False, f"{name} has no TXT record. Add one with the value {expected}.")
    except dns.exception.Timeout:
        return Check(False, f"DNS did not answer for {name} within {settings.DNS_TIMEOUT:g} s. Try again later.")
    except dns.resolver.NoNameservers:
        return Check(False, f"DNS servers failed to answer for {name} (SERVFAIL or refused). Try again later.")
    except dns.exception.DNSException as exc:
        return Check(False, f"DNS lookup of {name} failed ({exc.__class__.__name__}).")
    found = [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
    if expected in found:
        return Check(True)
    shown = ", ".join(repr(v[:80]) for v in found[:3])
    return Check(False, f"{name} holds {shown}, not {expected}. Check that you copied the whole value.")


def custom_domain_add(*, workspace: Workspace, domain: str, actor: Actor) -> Domain:
    """Add a domain for the workspace, if its plan has custom domains.

    Raises PlanUpgradeRequired, and what tenants.services.domain_add raises."""
    if not workspace_has_feature(workspace=workspace, feature="custom_domain"):
        raise upgrade_required("A custom domain", "custom_domain", "domain")
    return domain_add(workspace=workspace, domain=domain, actor=actor)


def custom_domain_verify(*, domain: Domain, actor: Actor) -> Check:
    """Look the domain's TXT record up now and record what was found."""
    check = txt_lookup(domain)
    domain_check_record(domain=domain, ok=check.ok, error=check.error, actor=actor)
    return check


def custom_domains_recheck() -> dict[str, int]:
    """Check every verified domain again (daily); counts of ok, failed and dropped."""
    counts = {"ok": 0, "failed": 0, "dropped": 0}
    for domain in domains_verified():
        check = txt_lookup(domain)
        row = domain_check_record(domain=domain, ok=check.ok, error=check.error, actor=None)
        counts["ok" if check.ok else ("dropped" if row.verified_at is None else "failed")] += 1
    return counts
