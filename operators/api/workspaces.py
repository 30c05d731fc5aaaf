"""Workspaces for operators: create (with plan and owner), list, read, suspend, reactivate,
change plan, delete; a workspace's members and keys (prefixes only, never digests)."""

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.services import subscription_set_plan
from core.errors import InvalidInput
from operators import selectors
from operators.api.base import PAGE_PARAMS, TAG, PlatformApi, paged
from operators.services import platform_workspace_create
from tenants.models import Workspace
from tenants.selectors import workspace_url
from tenants.services import workspace_delete, workspace_set_status


class PlatformWorkspaceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Workspace.Status.values)
    created_at = serializers.DateTimeField()
    plan = serializers.CharField(allow_null=True, help_text="The subscription's plan; null: none (the default plan's limits)")
    owners = serializers.ListField(child=serializers.EmailField(), help_text="Active owners' emails")
    url = serializers.URLField(help_text="The workspace's dashboard")


class PlatformWorkspacePageOutput(serializers.Serializer):
    data = PlatformWorkspaceOutput(many=True)  # type: ignore[assignment]  # the API's field name
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next (older) page")
    next = serializers.URLField(required=False, help_text="The next page's URL, also in the Link header")


def _plan_of(workspace: Workspace) -> str | None:
    try:
        sub = workspace.subscription  # select_related by the page's selector
    except Workspace.subscription.RelatedObjectDoesNotExist:
        return None
    return sub.plan.slug


def workspace_out(workspace: Workspace, owners: list[str]) -> dict:
    return {"id": workspace.pk, "slug": workspace.slug, "name": workspace.name, "status": workspace.status,
            "created_at": workspace.created_at, "plan": _plan_of(workspace), "owners": owners,
            "url": workspace_url(workspace)}


def _one(workspace: Workspace) -> dict:
    fresh = Workspace.objects.select_related("subscription__plan").get(pk=workspace.pk)
    owners = selectors.workspace_owner_emails(workspaces=[fresh])[fresh.pk]
    return PlatformWorkspaceOutput(workspace_out(fresh, owners)).data


class WorkspaceListCreateApi(PlatformApi):
    """Every workspace (newest first), or a new one with its owner and plan."""

    required_scopes = {"GET": "workspaces:read", "POST": "workspaces:write"}

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformWorkspaceInput"

        slug = serializers.CharField(max_length=40, help_text="Its address: <slug>.<base domain>")
        name = serializers.CharField(max_length=100)
        owner_email = serializers.EmailField(help_text="An existing account, or a new one made without a password")
        plan = serializers.CharField(max_length=40, required=False, help_text="A plan's slug (default: the default plan)")

    class PlatformWorkspaceCreatedOutput(PlatformWorkspaceOutput):
        class Owner(serializers.Serializer):
            email = serializers.EmailField()
            created = serializers.BooleanField(help_text="The account was made by this call")
            set_password_url = serializers.URLField(
                required=False, help_text="A new owner's one-time link to choose a password (pass it on)")

        owner = Owner()

    @extend_schema(tags=[TAG], parameters=[
        *PAGE_PARAMS,
        OpenApiParameter("status", str, enum=Workspace.Status.values),
        OpenApiParameter("q", str, description="Text in the slug or name"),
    ], responses=PlatformWorkspacePageOutput, operation_id="platform_v1_workspaces_list")
    def get(self, request):
        status = request.query_params.get("status") or None
        if status is not None and status not in Workspace.Status.values:
            raise InvalidInput(f"Unknown status {status!r}: active or suspended.", field="status")
        page = paged(selectors.workspace_page, request, status=status, q=request.query_params.get("q") or None)
        owners = selectors.workspace_owner_emails(workspaces=page.rows)
        data = PlatformWorkspaceOutput([workspace_out(w, owners[w.pk]) for w in page.rows], many=True).data
        return self.page_response(request, data, page)

    @extend_schema(tags=[TAG], request=InputSerializer, responses={201: PlatformWorkspaceCreatedOutput}, examples=[
        OpenApiExample("create", value={"slug": "acme", "name": "Acme", "owner_email": "ana@acme.example",
                                        "plan": "starter"}, request_only=True)])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace, owner, created = platform_workspace_create(
            name=data.validated_data["name"], slug=data.validated_data["slug"],
            owner_email=data.validated_data["owner_email"], plan=data.validated_data.get("plan"),
            actor=self.actor(request))
        body = _one(workspace)
        body["owner"] = {"email": owner.email, "created": created}
        if not owner.has_usable_password():
            # As `manage.py create_workspace` prints it: Django's reset form skips accounts with no
            # usable password, so a new owner could never choose one without this link.
            path = reverse("password_reset_confirm", kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(owner.pk)), "token": default_token_generator.make_token(owner)})
            body["owner"]["set_password_url"] = workspace_url(workspace, path)
        return Response(body, status=201)


class WorkspaceDetailApi(PlatformApi):
    """One workspace; DELETE drops it and its schema for good (`?confirm=<slug>`)."""

    required_scopes = {"GET": "workspaces:read", "DELETE": "workspaces:delete"}

    class PlatformDeletedOutput(serializers.Serializer):
        deleted = serializers.DictField(child=serializers.IntegerField(), help_text="Rows deleted per model")

    @extend_schema(tags=[TAG], responses=PlatformWorkspaceOutput)
    def get(self, request, slug):
        return Response(_one(self.workspace(slug)))

    @extend_schema(tags=[TAG], parameters=[
        OpenApiParameter("confirm", str, required=True, description="The workspace's slug, again")],
        responses=PlatformDeletedOutput)
    def delete(self, request, slug):
        workspace = self.workspace(slug)
        deleted = workspace_delete(workspace=workspace, confirm=request.query_params.get("confirm", ""),
                                   actor=self.actor(request))
        return Response({"deleted": deleted})


class WorkspaceSuspendApi(PlatformApi):
    """Suspend: its keys, dashboard and API stop at once (every process within a second)."""

    required_scopes = {"POST": "workspaces:write"}
    status = Workspace.Status.SUSPENDED

    @extend_schema(tags=[TAG], request=None, responses=PlatformWorkspaceOutput)
    def post(self, request, slug):
        workspace = workspace_set_status(workspace=self.workspace(slug), status=self.status, actor=self.actor(request))
        return Response(_one(workspace))


class WorkspaceReactivateApi(WorkspaceSuspendApi):
    """Reactivate a suspended workspace."""

    status = Workspace.Status.ACTIVE


class WorkspacePlanApi(PlatformApi):
    """Move the workspace to another plan; its limits apply on its next request."""

    required_scopes = {"POST": "workspaces:write"}

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformPlanInput"

        plan = serializers.CharField(max_length=40)

    @extend_schema(tags=[TAG], request=InputSerializer, responses=PlatformWorkspaceOutput)
    def post(self, request, slug):
        workspace = self.workspace(slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription_set_plan(workspace=workspace, plan_slug=data.validated_data["plan"], actor=self.actor(request))
        return Response(_one(workspace))


class PlatformMemberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class PlatformMemberPageOutput(serializers.Serializer):
    data = PlatformMemberOutput(many=True)  # type: ignore[assignment]
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(required=False)


class WorkspaceMembersApi(PlatformApi):
    """A workspace's members, newest first."""

    required_scopes = {"GET": "workspaces:read"}

    @extend_schema(tags=[TAG], parameters=PAGE_PARAMS, responses=PlatformMemberPageOutput)
    def get(self, request, slug):
        page = paged(selectors.member_page, request, workspace=self.workspace(slug))
        return self.page_response(request, PlatformMemberOutput(page.rows, many=True).data, page)


class PlatformKeyOutput(serializers.Serializer):
    """Never the digest: the prefix names a key, the secret is its holder's alone."""

    id = serializers.CharField(source="key_id")
    prefix = serializers.CharField()
    name = serializers.CharField()
    environment = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class PlatformKeyPageOutput(serializers.Serializer):
    data = PlatformKeyOutput(many=True)  # type: ignore[assignment]
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(required=False)


class WorkspaceKeysApi(PlatformApi):
    """A workspace's API keys, newest first: prefixes and state, never a secret or digest."""

    required_scopes = {"GET": "workspaces:read"}

    @extend_schema(tags=[TAG], parameters=PAGE_PARAMS, responses=PlatformKeyPageOutput)
    def get(self, request, slug):
        page = paged(selectors.key_page, request, workspace=self.workspace(slug))
        return self.page_response(request, PlatformKeyOutput(page.rows, many=True).data, page)

