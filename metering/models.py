"""Metering tables.

`metering` is in SHARED_APPS and TENANT_APPS, so each table exists in both schemas,
but each is used in one only:
- public: Policy (the hot path's limits per workspace), SpooledEvent (fail-open
  spool), CreditTopUp (ledger of bought credits);
- each workspace schema: UsageEvent (raw admitted usage, drained from Redis), UsageHourly
  (its rollups, recomputable from it);
- public: UsageDaily (each workspace's daily totals per meter, for billing and the platform),
  UsageReconciliation (admitted = stored = rolled up, per workspace and hour);
- each workspace schema: RequestHourly (request analytics: status class and latency histogram,
  folded from the web processes' flushes), RequestFold (the folds done, so each is done once);
- public: RequestTotalsHourly (each workspace's requests and errors per hour: the platform's).
Selectors and services pin the schema explicitly (metering.selectors.public_schema).
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Policy(models.Model):
    """The limits metering enforces for one workspace (workspace_id NULL: the default).

    Written only by billing through metering.services.policy_set: metering never
    imports billing; it keeps the plain policy where the hot path reads it.
    """

    workspace_id = models.BigIntegerField(null=True, unique=True)
    data = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"policy of workspace {self.workspace_id or 'default'}"


class UsageEvent(models.Model):
    """One meter's units for one admitted request.

    event_id is the event's identity, made by the server: the Redis stream entry id the
    metering check's XADD gave it, or the id a fail-open spool gave it (metering.services).
    (event_id, meter, occurred_at), the primary key, makes a replayed batch add nothing. request_id is the caller's
    X-Request-ID (or ours): a correlation id only, never unique, since a caller who sent
    one id with many requests would otherwise be billed for one (issue 18, finding 1).
    """

    # Partitioned by month of occurred_at (migration 0004, metering/pipeline/partitions.py): a
    # partitioned table's unique keys must hold the partition key. A replayed event keeps its time.
    pk = models.CompositePrimaryKey("event_id", "meter", "occurred_at")
    event_id = models.CharField(max_length=64)
    request_id = models.CharField(max_length=128)
    key_id = models.CharField(max_length=16, blank=True)
    endpoint = models.CharField(max_length=200)
    meter = models.CharField(max_length=64)
    units = models.BigIntegerField()
    status = models.CharField(max_length=16, default="admitted")
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["meter", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.meter}+{self.units} ({self.request_id})"


class UsageHourly(models.Model):
    """One hour's usage of one key, endpoint, meter and status class (workspace schema).

    Derived, never edited: recomputed from UsageEvent for every hour a drained batch touched
    (metering/pipeline/rollups.py), so a late event corrects its hour and a recompute of any
    range gives the same rows. Kept after the raw events' retention.
    """

    hour = models.DateTimeField()
    key_id = models.CharField(max_length=16, blank=True)
    endpoint = models.CharField(max_length=200)
    meter = models.CharField(max_length=64)
    status_class = models.CharField(max_length=16)  # "2xx", "4xx", "5xx", or the raw status ("admitted")
    events = models.BigIntegerField()
    units = models.BigIntegerField()
    errors = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "key_id", "endpoint", "meter", "status_class"],
                                               name="usage_hourly_once")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.meter}: {self.units}"


class UsageDaily(models.Model):
    """A workspace's usage of one meter on one UTC day (public schema): the sum of its hourly
    rollups, recomputed with them. What billing rates and the platform overview read."""

    workspace_id = models.BigIntegerField()
    day = models.DateField()
    meter = models.CharField(max_length=64)
    events = models.BigIntegerField()
    units = models.BigIntegerField()
    errors = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace_id", "day", "meter"], name="usage_daily_once")]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} {self.day} {self.meter}: {self.units}"


class RequestHourly(models.Model):
    """One hour's finished requests of one key, endpoint and status class (workspace schema):
    how many, how many were errors, their latencies' sum and histogram.

    Not a UsageHourly column: a usage event is appended by the check, before the view runs,
    so it can't carry the status or the latency. These come from the web processes' in-process
    histograms after the response (metering/analytics/recorder.py), folded by the drain
    (metering/pipeline/request_stats.py). status_class: "2xx".."5xx", or "refused" (the
    metering check's 429). buckets: counts per metering.analytics.histogram bucket, positional.
    """

    hour = models.DateTimeField()
    key_id = models.CharField(max_length=16, blank=True)
    endpoint = models.CharField(max_length=200)
    status_class = models.CharField(max_length=16)
    requests = models.BigIntegerField()
    errors = models.BigIntegerField()  # 4xx and 5xx (not refusals: they are their own class)
    latency_sum_us = models.BigIntegerField()
    buckets = ArrayField(models.BigIntegerField())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "key_id", "endpoint", "status_class"],
                                               name="request_hourly_once")]
        indexes = [models.Index(fields=["hour"], name="request_hourly_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.endpoint} {self.status_class}: {self.requests}"


class RequestFold(models.Model):
    """A batch of request analytics folded into RequestHourly (workspace schema): its id is
    written in the fold's transaction, so a fold interrupted after its commit is never added
    twice (metering/pipeline/request_stats.py). Kept a day."""

    fold_id = models.CharField(max_length=64, primary_key=True)
    folded_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.fold_id


class RequestTotalsHourly(models.Model):
    """A workspace's finished requests in one hour (public schema), folded with RequestHourly:
    what the operators' platform overview reads without visiting every schema."""

    workspace_id = models.BigIntegerField()
    hour = models.DateTimeField()
    requests = models.BigIntegerField()
    errors = models.BigIntegerField()
    refused = models.BigIntegerField()
    latency_sum_us = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace_id", "hour"], name="request_totals_once")]
        indexes = [models.Index(fields=["hour"], name="request_totals_hour")]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} {self.hour:%Y-%m-%d %H}h: {self.requests}"


class UsageReconciliation(models.Model):
    """One workspace's hour checked: requests admitted in Redis (the hour's quota counter) =
    stored (raw events) = rolled up (public schema; metering/pipeline/reconcile.py)."""

    class Status(models.TextChoices):
        OK = "ok"
        MISMATCH = "mismatch"

    workspace_id = models.BigIntegerField()
    hour = models.DateTimeField()
    admitted = models.BigIntegerField()
    stored = models.BigIntegerField()
    rolled_up = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace_id", "hour"], name="usage_reconciled_once")]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} {self.hour:%Y-%m-%d %H}h: {self.status}"


class SpooledEvent(models.Model):
    """A usage event admitted while Redis was unreachable (fail-open), waiting for replay."""

    workspace_id = models.BigIntegerField(db_index=True)
    request_id = models.CharField(max_length=128)
    payload = models.JSONField()
    # The check was sent and its reply lost: Redis may have counted it (metering.services.spool_settle).
    in_doubt = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"spooled {self.request_id}"


class CreditTopUp(models.Model):
    workspace_id = models.BigIntegerField(db_index=True)
    meter = models.CharField(max_length=64)
    units = models.BigIntegerField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"+{self.units} {self.meter} for workspace {self.workspace_id}"
