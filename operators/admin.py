"""Operator tokens in Django admin (listed, revoked; never a secret: the command shows it once),
and the operator's usage reset as an action of the workspace admin (a form asking why)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from core.errors import DomainError
from metering.services import RESET_WINDOWS, usage_reset
from operators.models import OperatorToken
from operators.services import operator_token_revoke
from tenants.admin import WorkspaceAdmin
from tenants.models import Workspace


@admin.register(OperatorToken)
class OperatorTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "scopes", "allowed_ips", "status", "created_at", "last_used_at", "expires_at")
    list_filter = ("revoked_at",)
    search_fields = ("token_id", "name")
    fields = ("prefix", "name", "scopes", "allowed_ips", "created_by", "created_at", "last_used_at", "expires_at",
              "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A token's secret is shown once, to whoever makes it: `manage.py create_operator_token`.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, so the audit trail's prefixes keep meaning something

    @admin.action(description="Revoke selected operator tokens")
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            operator_token_revoke(token=token, actor=("operator", request.user))
            count += 1
        self.message_user(request, f"Revoked {count} operator token(s). The platform API refuses them now.",
                          messages.WARNING)


class UsageResetForm(forms.Form):
    window = forms.ChoiceField(choices=[(w, w) for w in RESET_WINDOWS if w != "burst"],
                               help_text="The current window of this kind is zeroed.")
    meter = forms.CharField(max_length=64, required=False, help_text="Empty: every meter the plan limits in it.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Kept in the platform audit trail.")


admin.site.unregister(Workspace)


@admin.register(Workspace)
class PlatformWorkspaceAdmin(WorkspaceAdmin):
    """tenants' workspace admin plus the usage reset (metering's, a layer above tenants)."""

    actions = [*WorkspaceAdmin.actions, "reset_usage"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.reset_usage_view)
        return [path("<int:pk>/reset-usage/", view, name="tenants_workspace_reset_usage"), *super().get_urls()]

    @admin.action(description="Reset usage of the selected workspace for a window (asks why)")
    def reset_usage(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one workspace to reset.", messages.ERROR)
            return None
        return redirect("admin:tenants_workspace_reset_usage", queryset.get().pk)

    def reset_usage_view(self, request, pk):
        if not request.user.has_perm("tenants.change_workspace"):
            raise PermissionDenied
        workspace = self.get_object(request, str(pk))
        if workspace is None:
            raise Http404("No such workspace.")
        form = UsageResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                held = usage_reset(workspace=workspace, window=form.cleaned_data["window"],
                                   meter=form.cleaned_data["meter"] or None, reason=form.cleaned_data["reason"],
                                   actor=("operator", request.user))
            except DomainError as exc:
                form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, exc.detail)
            else:
                counted = ", ".join(f"{name} {units}" for name, units in held.items())
                self.message_user(request, f"Reset {workspace.slug}'s usage ({counted}).", messages.WARNING)
                return redirect("admin:tenants_workspace_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": f"Reset usage of {workspace.slug}", "workspace": workspace, "form": form}
        return TemplateResponse(request, "admin/operators/reset_usage.html", context,
                                status=400 if form.errors else 200)
