from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from billing import selectors
from billing.invoicing.close import invoice_create_manual
from billing.models import Invoice, InvoiceLine, Plan, Subscription
from billing.services import plan_sync, plan_validate_limits, subscription_set_overrides, subscription_set_plan
from core.errors import DomainError
from tenants.selectors import workspace_get


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Terms are validated by Plan.clean (errors next to the fields); a saved plan's limits are
    sent to its workspaces. Issued invoices keep the terms they copied."""

    list_display = ("name", "slug", "monthly_price_cents", "annual_price_cents", "member_limit", "is_default",
                    "is_active", "sort_order")
    list_editable = ("sort_order",)
    fieldsets = (
        (None, {"fields": ("slug", "name", "description", "is_active", "is_default", "sort_order")}),
        ("Prices (cents)", {"fields": ("currency", "monthly_price_cents", "annual_price_cents",
                                       "stripe_price_monthly", "stripe_price_annual")}),
        ("Usage", {"fields": ("included", "included_annual", "overage", "limits")}),
        ("Members and features", {"fields": ("member_limit", "custom_branding", "custom_domain", "sso",
                                             "priority_support")}),
    )

    def save_model(self, request, obj, form, change):
        try:
            plan_validate_limits(obj.limits)
        except DomainError as exc:
            raise ValidationError(exc.detail) from exc
        super().save_model(request, obj, form, change)
        count = plan_sync(plan=obj, actor=("operator", request.user))
        self.message_user(request, f"Limits and features sent to {count} workspace(s).", messages.INFO)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Operators assign plans here (what works without Stripe). The list starts with MRR,
    active and past-due subscriptions and invoices per period (billing.selectors.operator_overview)."""

    list_display = ("workspace", "plan", "status", "spend_cap_cents", "updated_at")
    list_filter = ("plan", "status")
    search_fields = ("workspace__slug",)
    raw_id_fields = ("workspace",)
    change_list_template = "admin/billing/subscription/change_list.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "overview": selectors.operator_overview()})

    def save_model(self, request, obj, form, change):
        actor = ("operator", request.user)
        try:
            subscription_set_plan(workspace=obj.workspace, plan_slug=obj.plan.slug, actor=actor)
            subscription_set_overrides(workspace=obj.workspace, overrides=obj.overrides, actor=actor)
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "kind", "description", "quantity", "amount_cents")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ManualInvoiceForm(forms.Form):
    workspace = forms.CharField(help_text="The workspace's address (slug).")
    description = forms.CharField(max_length=300)
    amount_cents = forms.IntegerField(min_value=1, label="Amount (cents)")


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Invoices are made by the period close (or the manual form) and never edited here."""

    list_display = ("__str__", "workspace", "kind", "period_start", "status", "collection", "total_cents")
    list_filter = ("status", "collection", "kind", "period_start")
    search_fields = ("number", "workspace__slug")
    date_hierarchy = "period_start"
    inlines = [InvoiceLineInline]
    change_list_template = "admin/billing/invoice/change_list.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "overview": selectors.operator_overview()})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.manual_invoice_view)
        return [path("manual/", view, name="billing_invoice_manual"), *super().get_urls()]

    def manual_invoice_view(self, request):
        """A one-off invoice for a workspace, finalised at once (superusers only: it bills)."""
        if not request.user.is_superuser:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = ManualInvoiceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            workspace = workspace_get(slug=form.cleaned_data["workspace"].strip().lower())
            if workspace is None:
                form.add_error("workspace", "No workspace has this address.")
            else:
                try:
                    invoice = invoice_create_manual(workspace=workspace, description=form.cleaned_data["description"],
                                                    amount_cents=form.cleaned_data["amount_cents"],
                                                    actor=("operator", request.user))
                except DomainError as exc:
                    field = exc.extra.get("field")
                    form.add_error(field if field in form.fields else None, exc.detail)
                else:
                    self.message_user(request, f"Invoice {invoice.number} issued to {workspace.slug}.")
                    return redirect("admin:billing_invoice_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Manual invoice",
                   "form": form}
        return TemplateResponse(request, "admin/billing/invoice/manual.html", context,
                                status=400 if request.method == "POST" else 200)
