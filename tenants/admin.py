from django.contrib import admin, messages

from tenants.models import Domain, Workspace
from tenants.services import domain_verify, workspace_set_status


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary", "verified_at")
    readonly_fields = ("verified_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    readonly_fields = ("schema_name", "slug", "created_at")
    fields = ("name", "slug", "schema_name", "status", "created_at")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def has_add_permission(self, request):
        # Workspaces are created by signup or `manage.py create_workspace` (schema cloning, owner).
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "verified_at")
    search_fields = ("domain", "tenant__slug")
    actions = ["verify"]

    @admin.action(description="Mark selected domains verified")
    def verify(self, request, queryset):
        for domain in queryset.filter(verified_at__isnull=True):
            domain_verify(domain=domain, actor=("operator", request.user))
