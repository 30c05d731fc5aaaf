"""The audit log's filters, one definition for the page, the API and both exports."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from auditing.models import AuditEvent
from auditing.services import ACTIONS

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    actor_type: str = ""
    actions: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    resource_type: str = ""
    resource_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""

    def as_details(self) -> dict:
        """The filters as plain values, for the data_exported event."""
        out = {
            "actor": self.actor, "actor_type": self.actor_type, "action": ",".join(self.actions),
            "severity": ",".join(self.severities),
            "resource": f"{self.resource_type}:{self.resource_id}" if self.resource_id else self.resource_type,
            "since": self.since.isoformat() if self.since else "", "until": self.until.isoformat() if self.until else "",
            "q": self.q,
        }
        return {k: v for k, v in out.items() if v}


def _moment(value: str, *, end: bool) -> datetime:
    """An ISO 8601 date or date-time, in UTC; a bare date covers that whole day (UTC).

    Raises ValidationError when it is no date, or when it lies outside Python's years 1-9999
    once in UTC (an inclusive `until=9999-12-31` ends at 10000-01-01; 0001-01-01T00:00+05:00
    is in year 0). Converting to UTC here also keeps offsets PostgreSQL refuses (beyond
    ±15:59) out of the query.
    """
    value = value.strip()
    try:
        day = parse_date(value)  # a bare date first: parse_datetime would read it as midnight
        moment = None if day else parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        day = moment = None
    if day is None and moment is None:
        raise forms.ValidationError(
            "Use an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T14:00:00Z.", code="invalid_date")
    try:
        if day is not None:
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)
        elif moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, UTC)
        assert moment is not None  # day or moment, checked above
        return moment.astimezone(UTC)
    except OverflowError:
        raise forms.ValidationError(
            "Out of range: use a date from 0001-01-01 to 9999-12-30 (UTC).", code="date_out_of_range")


class _MultiChoice(forms.CharField):
    """Comma-separated values, each one of `choices`: `?action=login,logout`."""

    def __init__(self, *, choices, noun, **kw):
        self.allowed, self.noun = frozenset(choices), noun
        super().__init__(required=False, **kw)

    def clean(self, value):
        if isinstance(value, (list, tuple)):  # a picker (select multiple) sends each value on its own
            value = ",".join(str(v) for v in value)
        values = tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))
        unknown = [v for v in values if v not in self.allowed]
        if unknown:
            raise forms.ValidationError(
                f"Unknown {self.noun} {unknown[0]!r}. Use one of: {', '.join(sorted(self.allowed))}.",
                code="invalid_choice")
        return values


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=254, help_text="Email, key prefix, 'system', or type:id (user:12).")
    actor_type = forms.ChoiceField(required=False, choices=[("", "Any actor"), *AuditEvent.ActorType.choices])
    action = _MultiChoice(choices=ACTIONS, noun="action")
    severity = _MultiChoice(choices=AuditEvent.Severity.values, noun="severity")
    resource = forms.CharField(required=False, max_length=130, help_text="A type (membership) or type:id (membership:12).")
    since = forms.CharField(required=False, max_length=40, help_text="From this date or time (UTC), inclusive.")
    until = forms.CharField(required=False, max_length=40, help_text="Up to this date (inclusive) or time (exclusive).")
    q = forms.CharField(required=False, max_length=200, label="Search details")

    def clean_since(self):
        value = self.cleaned_data["since"]
        return _moment(value, end=False) if value else None

    def clean_until(self):
        value = self.cleaned_data["until"]
        return _moment(value, end=True) if value else None

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", forms.ValidationError("'until' must be after 'since'.", code="invalid_range"))
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        resource_type, _, resource_id = (data.get("resource") or "").strip().partition(":")
        return AuditFilters(
            actor=(data.get("actor") or "").strip(),
            actor_type=data.get("actor_type") or "",
            actions=data.get("action") or (),
            severities=data.get("severity") or (),
            resource_type=resource_type.strip(),
            resource_id=resource_id.strip(),
            since=data.get("since"),
            until=data.get("until"),
            q=(data.get("q") or "").strip(),
        )


class _Picker(forms.SelectMultiple):
    """A list to pick from that also reads the API's comma-separated form (links, exports)."""

    def value_from_datadict(self, data, files, name):
        values = super().value_from_datadict(data, files, name) or []
        return [v.strip() for item in values for v in str(item).split(",") if v.strip()]


class AuditFilterPageForm(AuditFilterForm):
    """The same filters as pickers for the audit page: lists to choose actions and severities from,
    date pickers for the range. `?action=login&action=logout` and `?action=login,logout` both work."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].widget = _Picker(choices=[(a, a.replace("_", " ")) for a in sorted(ACTIONS)])
        self.fields["action"].help_text = "Choose one or more (Ctrl or ⌘ to pick several)."
        self.fields["severity"].widget = _Picker(choices=AuditEvent.Severity.choices)
        self.fields["since"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["since"].help_text = "From this day (UTC), inclusive."
        self.fields["until"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["until"].help_text = "Up to this day (UTC), inclusive."



def parse_limit(raw: str | None) -> int:
    """`?limit=`: 1..MAX_LIMIT. Raises ValueError with a message for anything else."""
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ValueError(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.")
    return limit

