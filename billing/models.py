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
    """A workspace's plan, plus limit overrides an operator set for it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELED = "canceled", "Canceled"

    workspace = models.OneToOneField("tenants.Workspace", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    overrides = models.JSONField(default=dict, blank=True,
                                 help_text="Same shape as the plan's limits; merged over them for this workspace.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace} on {self.plan}"
