from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models

FEATURES = ("custom_branding", "custom_domain", "sso", "priority_support")


class Plan(models.Model):
    """A plan of the catalogue, editable in Django admin (validated by `clean`).

    `limits` uses metering's policy shape without plan/upgrade (rate limits: burst, hour/day
    windows): {"burst": {"limit": 20, "window": 1},
               "meters": {"requests": {"hour": {"limit": 1000, "hard": true}}}}
    `included`: units per month per meter. A meter with an `overage` price is billed past its
    included units (billing.rating.pricing shapes); a meter without one is a monthly allowance
    (metering's credits window: refused past it unless credits were bought).
    Invoices copy the terms they were rated with (Invoice.terms): editing a plan never
    rewrites an issued invoice.
    """

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    monthly_price_cents = models.PositiveIntegerField(default=0)
    annual_price_cents = models.PositiveIntegerField(default=0, help_text="0: no annual option.")
    currency = models.CharField(max_length=3, default="usd")
    limits = models.JSONField(default=dict, blank=True)
    included = models.JSONField(default=dict, blank=True, help_text='Units a month per meter: {"requests": 1000000}.')
    included_annual = models.JSONField(default=dict, blank=True,
                                       help_text="On the annual price, units that differ from the monthly ones.")
    overage = models.JSONField(default=dict, blank=True, help_text=(
        'Price per meter past its included units: {"requests": {"model": "package", "package_size": 1000, '
        '"amount": 5}}; models: per_unit (unit_amount), package (package_size, amount), graduated (tiers of '
        'up_to, unit_amount, per). Cents.'))
    member_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    custom_branding = models.BooleanField(default=False)
    custom_domain = models.BooleanField(default=False)
    sso = models.BooleanField(default=False)
    priority_support = models.BooleanField(default=False)
    stripe_price_monthly = models.CharField(max_length=100, blank=True)
    stripe_price_annual = models.CharField(max_length=100, blank=True)
    is_default = models.BooleanField(default=False, help_text="New workspaces start on this plan.")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "monthly_price_cents"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_plan")]

    def __str__(self) -> str:
        return self.name

    @property
    def features(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in FEATURES}

    def clean(self) -> None:
        from billing.catalogue import terms_errors

        errors = terms_errors(self)
        if errors:
            raise ValidationError(errors)


class Subscription(models.Model):
    """A workspace's plan, plus limit overrides an operator set for it, and, once the workspace
    pays through Stripe, the Stripe subscription it mirrors (billing/stripe/sync.py writes it from
    webhooks; Stripe is the truth for status and period)."""

    class Status(models.TextChoices):
        # Stripe's subscription statuses (docs.stripe.com/api/subscriptions/object#subscription_object-status)
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
        PAST_DUE = "past_due", "Past due"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"
        CANCELED = "canceled", "Canceled"

    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Annual"

    workspace = models.OneToOneField("tenants.Workspace", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    overrides = models.JSONField(default=dict, blank=True,
                                 help_text="Same shape as the plan's limits; merged over them for this workspace.")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    # A downgrade waits for the end of the period the workspace paid for (billing/stripe/changes.py).
    pending_plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pending_interval = models.CharField(max_length=8, choices=Interval.choices, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    # Webhooks arrive late, twice and out of order: the `created` time of the last Stripe event
    # applied to the subscription, and to its payments; an older event changes nothing.
    stripe_subscription_event_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_event_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_invoice_id = models.CharField(max_length=255, blank=True)  # the invoice of that event
    payment_status = models.CharField(max_length=16, blank=True)  # "succeeded" or "failed", for that invoice
    # Dunning: since when a payment is owed, and when the free plan's limits replaced the plan's.
    past_due_since = models.DateTimeField(null=True, blank=True)
    dunning_limited_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The owner's monthly overage budget (cents); null: no cap. Enforced by metering as a hard
    # monthly limit per overage meter (billing.spend_cap).
    spend_cap_cents = models.PositiveIntegerField(null=True, blank=True)
    # The spend-cap alerts sent this period: {"period": "2026-12", "percent": 80}.
    spend_alerts = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stripe_customer_id"], condition=~models.Q(stripe_customer_id=""),
                                    name="one_workspace_per_stripe_customer"),
            models.UniqueConstraint(fields=["stripe_subscription_id"], condition=~models.Q(stripe_subscription_id=""),
                                    name="one_workspace_per_stripe_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} on {self.plan}"


class Invoice(models.Model):
    """One workspace's bill for a period (public schema). Lines are copies: a plan edited
    later never changes an invoice. A draft is recomputed until it is finalised; once
    finalised it never changes again (usage recorded later is an adjustment on the next)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINALIZED = "finalized", "Finalized"
        VOID = "void", "Void"

    class Kind(models.TextChoices):
        PERIOD = "period", "Period close"
        MANUAL = "manual", "Manual"

    class Collection(models.TextChoices):
        NOT_COLLECTED = "not_collected", "Not collected"  # no Stripe: computed, shown, not charged
        PENDING = "pending", "Pending"  # handed to Stripe
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"

    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(max_length=40, unique=True, null=True, blank=True)  # set when finalised
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERIOD)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive: the first day after the period.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    collection = models.CharField(max_length=16, choices=Collection.choices, default=Collection.NOT_COLLECTED)
    currency = models.CharField(max_length=3, default="usd")
    total_cents = models.BigIntegerField(default=0)
    credit_carried_cents = models.BigIntegerField(default=0)
    terms = models.JSONField(default=dict, help_text="The plan's terms the invoice was rated with (a copy).")
    usage = models.JSONField(default=dict, help_text="Units per meter rated on this invoice.")
    memo = models.CharField(max_length=300, blank=True)
    stripe_invoice_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-pk"]
        constraints = [
            # The close job run twice (or by two workers) makes one invoice per period.
            models.UniqueConstraint(fields=["workspace", "period_start"], condition=models.Q(kind="period"),
                                    name="one_period_invoice"),
        ]
        indexes = [models.Index(fields=["status", "period_end"], name="invoice_status_period")]

    def __str__(self) -> str:
        return self.number or f"draft {self.period_start:%Y-%m} ({self.workspace_id})"

    @property
    def period_last_day(self):
        return self.period_end - timedelta(days=1)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12)  # billing.rating.Line.kind
    description = models.CharField(max_length=300)
    meter = models.CharField(max_length=64, blank=True)
    quantity = models.BigIntegerField(default=0)
    unit_amount = models.BigIntegerField(default=0)
    per = models.PositiveIntegerField(default=1)
    amount_cents = models.BigIntegerField()
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount_cents}"
