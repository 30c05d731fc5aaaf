"""What the overview shows, read from the apps that own it. Reads only: nothing here writes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts import selectors as account_selectors
from accounts.models import User
from apikeys import selectors as key_selectors
from auditing import selectors as audit_selectors
from auditing.filters import AuditFilters
from auditing.models import AuditEvent
from billing import selectors as billing_selectors
from billing.models import Subscription
from metering import selectors as metering_selectors
from metering.analytics import selectors as analytics
from metering.errors import MeteringUnavailable
from tenants.models import Workspace
from tenants.selectors import workspace_url


@dataclass(frozen=True)
class Gauge:
    label: str
    used: int
    limit: int
    reset: int  # epoch seconds

    @property
    def used_text(self) -> str:
        return f"{self.used:,}"

    @property
    def limit_text(self) -> str:
        return f"{self.limit:,}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 0


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    href: str
    action: str


def quota_gauges(*, workspace: Workspace) -> list[Gauge] | None:
    """The workspace's quotas (hour, day, month windows and credits) as used of limit, from the
    counters the metered requests keep; per-key burst limits are not quotas and are left out.
    None when the counters can't be read (Redis down)."""
    try:
        limits = metering_selectors.limits_for(workspace=workspace)["limits"]
    except MeteringUnavailable:
        return None
    gauges = []
    for item in limits:
        if "window_seconds" in item or not item.get("limit"):  # a burst window, or no cap
            continue
        meter = str(item["meter"]).replace("_", " ")
        window = str(item["window"])
        noun = meter.capitalize()
        label = f"{noun} this {window}" if window in ("hour", "day", "month") else f"{noun} ({window})"
        gauges.append(Gauge(label=label, used=int(item["used"]), limit=int(item["limit"]), reset=int(item["reset"])))
    return gauges


@dataclass(frozen=True)
class Traffic:
    requests: int
    success_rate: float | None  # percent
    p95_ms: float | None

    @property
    def requests_text(self) -> str:
        return f"{self.requests:,}"


def traffic(*, workspace: Workspace, now: datetime) -> Traffic | None:
    """The last 24 hours' finished requests, success rate and p95 latency (metering's analytics,
    read from the hourly rollups the drain folds). None when there was no request."""
    metrics = analytics.request_metrics(workspace=workspace, start=now - timedelta(hours=24), end=now)
    if not metrics["total_requests"]:
        return None
    rate = metrics["success_rate"]
    return Traffic(requests=metrics["total_requests"], success_rate=None if rate is None else rate * 100,
                   p95_ms=metrics["latency_ms"]["p95"])


def recent_events(*, workspace: Workspace, limit: int = 5) -> list[AuditEvent]:
    return list(audit_selectors.audit_event_page(workspace=workspace, filters=AuditFilters(), limit=limit).events)


def subscription(*, workspace: Workspace) -> Subscription | None:
    return billing_selectors.subscription_for(workspace=workspace)


def next_month_start(now: datetime) -> datetime:
    """When monthly windows reset: 00:00 UTC on the 1st of next month (metering's calendar month)."""
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def getting_started(*, workspace: Workspace, user: User, gauges: list[Gauge] | None, plans_href: str) -> list[Step]:
    """The first steps of a new workspace, each ticked from what really happened."""
    keys = list(key_selectors.apikey_list(workspace=workspace))
    called = any(k.last_used_at for k in keys) or any(
        g.used > 0 for g in (gauges or []) if g.label.startswith("Requests"))
    teammates = account_selectors.membership_list(workspace=workspace).count() > 1 or bool(
        account_selectors.invitation_list_pending(workspace=workspace))
    return [
        Step("key", "Create an API key", bool(keys), "/keys/new/", "Create a key"),
        Step("call", "Make your first call", called, "#first-call", "Copy the example below"),
        Step("invite", "Invite a teammate", teammates, "/members/", "Invite someone"),
        Step("plan", "Choose a plan", subscription(workspace=workspace) is not None, plans_href, "See the plans"),
    ]


def first_call_example(*, workspace: Workspace) -> str:
    """A curl that calls the reference metered endpoint on this workspace's own address."""
    url = workspace_url(workspace, "/api/v1/analyze")
    return (f"curl -i -X POST {url} \\\n"
            '  -H "Authorization: Bearer $TOLLGATE_API_KEY" \\\n'
            "  -H 'Content-Type: application/json' \\\n"
            "  -d '{\"text\": \"I love this API\"}'")
