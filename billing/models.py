from django.db import models


class Plan(models.Model):
    """A plan of the catalogue, editable in Django admin.

    `limits` uses metering's policy shape without plan/upgrade:
    {"burst": {"limit": 20, "window": 1},
     "meters": {"requests": {"hour": {"limit": 1000, "hard": true}}, "analysis_runs": {"credits": 300}}}
    """

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    monthly_price_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    limits = models.JSONField(default=dict)
    is_default = models.BooleanField(default=False, help_text="New workspaces start on this plan.")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "monthly_price_cents"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_plan")]

    def __str__(self) -> str:
        return self.name


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stripe_customer_id"], condition=~models.Q(stripe_customer_id=""),
                                    name="one_workspace_per_stripe_customer"),
            models.UniqueConstraint(fields=["stripe_subscription_id"], condition=~models.Q(stripe_subscription_id=""),
                                    name="one_workspace_per_stripe_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} on {self.plan}"
