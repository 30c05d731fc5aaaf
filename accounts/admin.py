from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied

from accounts.models import Invitation, Membership, User
from accounts.services import membership_create, membership_operator_remove, membership_operator_update
from core.errors import DomainError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    list_filter = ("is_active", "is_staff")
    filter_horizontal = ()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "status", "created_at")
    list_filter = ("role", "status")
    search_fields = ("user__email", "workspace__slug")
    raw_id_fields = ("user", "workspace")
    # Every change goes through accounts.services: the last-owner rule and the audit trail hold
    # for operators too. Bulk deletion would bypass both, so it is not offered.
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return ("user", "workspace") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        try:
            if change:
                membership_operator_update(membership=obj, role=obj.role, status=obj.status, operator=request.user)
            else:
                created = membership_create(user=obj.user, workspace=obj.workspace, role=obj.role,
                                            actor=("operator", request.user))
                obj.pk = created.pk
        except DomainError as exc:
            # The admin has no error path after validation: say why and leave the row unchanged.
            self._refuse(request, exc)

    def delete_model(self, request, obj):
        try:
            membership_operator_remove(membership=obj, operator=request.user)
        except DomainError as exc:
            self._refuse(request, exc)

    def _refuse(self, request, exc: DomainError) -> None:
        request.membership_refused = True
        self.message_user(request, exc.detail, messages.ERROR)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # No "changed successfully" after a refusal.
        if level == messages.SUCCESS and getattr(request, "membership_refused", False):
            return
        super().message_user(request, message, level, *args, **kwargs)

    def delete_queryset(self, request, queryset):
        raise PermissionDenied("Remove memberships one at a time.")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "workspace", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("email", "workspace__slug")
    readonly_fields = ("token_digest",)
