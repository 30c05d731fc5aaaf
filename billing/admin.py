from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from billing.models import Plan, Subscription
from billing.services import plan_sync, plan_validate_limits, subscription_set_overrides, subscription_set_plan
from core.errors import DomainError


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "monthly_price_cents", "is_default", "is_active", "sort_order")
    list_editable = ("sort_order",)

    def save_model(self, request, obj, form, change):
        try:
            plan_validate_limits(obj.limits)
        except DomainError as exc:
            raise ValidationError(exc.detail)
        super().save_model(request, obj, form, change)
        count = plan_sync(plan=obj, actor=("operator", request.user))
        self.message_user(request, f"Limits sent to {count} workspace(s).", messages.INFO)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("workspace", "plan", "status", "updated_at")
    list_filter = ("plan", "status")
    search_fields = ("workspace__slug",)
    raw_id_fields = ("workspace",)

    def save_model(self, request, obj, form, change):
        actor = ("operator", request.user)
        try:
            subscription_set_plan(workspace=obj.workspace, plan_slug=obj.plan.slug, actor=actor)
            subscription_set_overrides(workspace=obj.workspace, overrides=obj.overrides, actor=actor)
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
