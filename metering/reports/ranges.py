"""The usage page's range picker: a plain GET form (`?range=7d`, `?range=custom&from=&to=`).

Ranges end at the next hour boundary (or day boundary for 30 d), so the current, partial
hour is the last bar and the same range asked twice in an hour draws the same buckets.
Times are UTC everywhere: the rollups' hours are UTC hours, and a bar must mean the same
hour in the chart, its table and the CSV. "Now" is metering's clock (metering.windows), the
one that cut the counters and rollups, so tests move one clock for all of them.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms

from metering import windows

PRESETS = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7)),
           "30d": ("Last 30 days", timedelta(days=30))}
CUSTOM = "custom"
DEFAULT = "24h"
MAX_SPAN = timedelta(days=366)
# Up to this span a bar is an hour; past it, a day (30 days of hours is 720 bars on a phone).
HOURLY_UP_TO = timedelta(days=7)


@dataclass(frozen=True)
class UsageRange:
    key: str  # "24h", "7d", "30d" or "custom"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    granularity: str  # "hour" | "day"

    @property
    def label(self) -> str:
        if self.key in PRESETS:
            return PRESETS[self.key][0]
        last = self.end - timedelta(seconds=1)
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"

    def query(self) -> dict[str, str]:
        """The GET parameters that ask for this range again (the CSV link, the overview's link)."""
        if self.key != CUSTOM:
            return {"range": self.key}
        return {"range": CUSTOM, "from": f"{self.start:%Y-%m-%d}",
                "to": f"{self.end - timedelta(seconds=1):%Y-%m-%d}"}


def now_utc() -> datetime:
    return datetime.fromtimestamp(windows.now(), tz=UTC)


def _ceil_hour(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def preset(key: str = DEFAULT, *, now: datetime | None = None) -> UsageRange:
    """One of PRESETS, ending now (see the module's docstring for where it ends exactly)."""
    now = now or now_utc()
    span = PRESETS[key][1]
    if span > HOURLY_UP_TO:
        end = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
        return UsageRange(key, end - span, end, "day")
    end = _ceil_hour(now)
    return UsageRange(key, end - span, end, "hour")


class UsageRangeForm(forms.Form):
    range = forms.ChoiceField(choices=[*((k, label) for k, (label, _) in PRESETS.items()), (CUSTOM, "Custom")],
                              required=False, initial=DEFAULT, label="Range")
    to = forms.DateField(required=False, label="To (UTC, inclusive)", widget=forms.DateInput(attrs={"type": "date"}),
                         input_formats=["%Y-%m-%d"],
                         error_messages={"invalid": "Enter a date as YYYY-MM-DD, e.g. 2026-12-31."})

    def __init__(self, *args, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or now_utc()

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("range") != CUSTOM:
            return data
        start, last = data.get("from"), data.get("to")
        if "from" in self.errors or "to" in self.errors:
            return data
        today = self.now.date()
        if start is None:
            self.add_error("from", forms.ValidationError("Choose the first day of the custom range.", code="required"))
        elif start > today:
            self.add_error("from", forms.ValidationError(
                f"The range can't start in the future (today is {today:%Y-%m-%d} UTC).", code="future"))
        if last is None:
            self.add_error("to", forms.ValidationError("Choose the last day of the custom range.", code="required"))
        if start is not None and last is not None and not self.errors:
            if last < start:
                self.add_error("to", forms.ValidationError("'To' must be on or after 'From'.", code="invalid_range"))
            elif last - start >= MAX_SPAN:
                self.add_error("from", forms.ValidationError(
                    f"A custom range spans at most {MAX_SPAN.days} days; this one spans {(last - start).days + 1}.",
                    code="too_long"))
        return data

    def usage_range(self) -> UsageRange:
        """The range asked for (the default when nothing is); call after is_valid()."""
        key = self.cleaned_data.get("range") or DEFAULT
        if key != CUSTOM:
            return preset(key, now=self.now)
        first: date = self.cleaned_data["from"]
        last: date = self.cleaned_data["to"]
        start = datetime.combine(first, time.min, tzinfo=UTC)
        # A range that reaches today stops at the end of the current hour, like the presets.
        end = min(datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC), _ceil_hour(self.now))
        granularity = "hour" if end - start <= HOURLY_UP_TO else "day"
        return UsageRange(CUSTOM, start, end, granularity)


# `from` is a Python keyword: the field is added by name, and listed before `to`.
UsageRangeForm.base_fields["from"] = forms.DateField(
    required=False, label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"],
    error_messages={"invalid": "Enter a date as YYYY-MM-DD, e.g. 2026-12-01."})
UsageRangeForm.base_fields = {name: UsageRangeForm.base_fields[name] for name in ("range", "from", "to")}
