from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.errors import DomainError
from tenants.models import Domain, Workspace
from tenants.selectors import workspace_deletion_summary
from tenants.services import workspace_delete, workspace_set_status


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    # Domains are added and verified by their workspace (branding/); here, only read.
    fields = ("domain", "verified_at", "last_checked_at", "check_failures")
    readonly_fields = ("domain", "verified_at", "last_checked_at", "check_failures")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    readonly_fields = ("schema_name", "slug", "created_at", "delete_for_good")
    fields = ("name", "slug", "schema_name", "status", "created_at", "delete_for_good")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate", "delete_workspace"]

    def has_add_permission(self, request):
        # Workspaces are created by signup or `manage.py create_workspace` (schema cloning, owner).
        return False

    def has_delete_permission(self, request, obj=None):
        # Django's own delete would leave the schema (auto_drop_schema is off) and audit
        # nothing: deleting goes through delete_workspace_view, which asks for the slug.
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.delete_workspace_view)
        return [path("<int:pk>/delete-for-good/", view, name="tenants_workspace_delete_for_good"), *super().get_urls()]

    @admin.display(description="Delete")
    def delete_for_good(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:tenants_workspace_delete_for_good", args=[obj.pk])
        return format_html('<a class="deletelink" href="{}">Delete this workspace and its schema...</a>', url)

    def delete_workspace_view(self, request, pk):
        """Shows what goes, then deletes once the operator types the slug (superusers only)."""
        if not request.user.is_superuser:
            raise PermissionDenied
        workspace = self.get_object(request, str(pk))
        if workspace is None:
            raise Http404("No such workspace.")
        error = None
        if request.method == "POST":
            try:
                workspace_delete(workspace=workspace, confirm=request.POST.get("confirm", ""),
                                 actor=("operator", request.user))
            except DomainError as exc:
                error = exc.detail
            else:
                self.message_user(request, f"Deleted workspace {workspace.slug} and its schema.", messages.WARNING)
                return redirect("admin:tenants_workspace_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Delete {workspace.slug} for good?",
            "workspace": workspace,
            "summary": workspace_deletion_summary(workspace),
            "error": error,
        }
        return TemplateResponse(request, "admin/tenants/workspace/delete_workspace.html", context,
                                status=400 if error else 200)

    def save_model(self, request, obj, form, change):
        if change and "status" in form.changed_data:
            new_status = obj.status
            obj.status = form.initial["status"]
            workspace_set_status(workspace=obj, status=new_status, actor=("operator", request.user))
            form.changed_data.remove("status")
        super().save_model(request, obj, form, change)

    @admin.action(description="Suspend selected workspaces")
    def suspend(self, request, queryset):
        for workspace in queryset:
            workspace_set_status(workspace=workspace, status=Workspace.Status.SUSPENDED, actor=("operator", request.user))
        self.message_user(request, f"Suspended {queryset.count()} workspace(s).", messages.WARNING)

    @admin.action(description="Reactivate selected workspaces")
    def reactivate(self, request, queryset):
        for workspace in queryset:
            workspace_set_status(workspace=workspace, status=Workspace.Status.ACTIVE, actor=("operator", request.user))
        self.message_user(request, f"Reactivated {queryset.count()} workspace(s).")

    @admin.action(description="Delete selected workspace and its schema (asks for its address)")
    def delete_workspace(self, request, queryset):
        # One at a time: the confirmation is the workspace's own slug, typed.
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one workspace to delete.", messages.ERROR)
            return None
        return redirect("admin:tenants_workspace_delete_for_good", queryset.get().pk)
