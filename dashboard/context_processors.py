"""What every page's shell needs: the navigation (with the current page marked) and the operator's
name and contact for the footer and the legal pages."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.permissions import can
from tenants.selectors import workspace_url


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


# A workspace's pages, in menu order: (label, URL name, the role's action that opens it).
# Pages other apps add (usage, billing, branding) appear once their URL name resolves.
WORKSPACE_PAGES: tuple[tuple[str, str, str], ...] = (
    ("Overview", "home", "dashboard.view"),
    ("Usage", "usage", "usage.view"),
    ("API keys", "keys", "keys.view"),
    ("Members", "members", "members.view"),
    ("Billing", "billing", "billing.view"),
    ("Branding", "branding", "branding.manage"),
    ("Audit log", "audit-log", "audit.view"),
    ("Settings", "settings", "dashboard.view"),
)


def _url(name: str, urlconf: str | None) -> str | None:
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None


def _current(path: str, url: str) -> bool:
    return path == url if url == "/" else path.startswith(url)


def nav_items(request: HttpRequest) -> list[NavItem]:
    tenant = getattr(request, "tenant", None)
    urlconf = getattr(request, "urlconf", None)
    items: list[NavItem] = []
    if tenant is not None and not tenant.is_public:
        membership = getattr(request, "membership", None)
        if not membership or not membership.is_active:
            return items
        for label, name, action in WORKSPACE_PAGES:
            url = _url(name, urlconf)
            if url is not None and can(membership.role, action):
                items.append(NavItem(label, url, _current(request.path, url)))
        return items
    pages = [("Home", "/"), ("Pricing", _url("pricing", urlconf)), ("API docs", "/api/docs/")]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        pages.append(("Your workspaces", "/workspaces/"))
    else:
        pages.append(("Sign up", "/signup/"))
    return [NavItem(label, url, _current(request.path, url)) for label, url in pages if url]


def shell(request: HttpRequest) -> dict:
    return {
        "nav_items": nav_items(request),
        "site": {
            "product_name": settings.TOLLGATE_PRODUCT_NAME,
            "company_name": settings.TOLLGATE_COMPANY_NAME,
            "contact_email": settings.TOLLGATE_CONTACT_EMAIL,
            "company_address": settings.TOLLGATE_COMPANY_ADDRESS,
            "public_url": workspace_url(None, "").rstrip("/"),
        },
    }
