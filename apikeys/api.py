"""REST endpoints for keys: /api/v1/keys..., /api/v1/info."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys import selectors, services
from apikeys.errors import ScopeNotGrantable
from apikeys.models import ApiKey
from apikeys.permissions import ScopePermission, actor_of
from core.errors import NotFound
from core.openapi import problems


class KeyOutput(serializers.Serializer):
    id = serializers.CharField(source="key_id")
    prefix = serializers.CharField()
    name = serializers.CharField()
    environment = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField()
    burst_limit = serializers.IntegerField()
    burst_window = serializers.IntegerField()
    allowed_ips = serializers.ListField(child=serializers.CharField())


class _KeyApi(APIView):
    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "keys.manage"

    def key_or_404(self, request, key_id) -> ApiKey:
        key = selectors.apikey_get(workspace=request.workspace, key_id=key_id)
        if key is None:
            raise NotFound("No key with this id in your workspace.")
        return key


class KeyListCreateApi(_KeyApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "KeyCreateInput"

        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKey.SCOPES), default=["read", "write"])
        environment = serializers.ChoiceField(choices=["live", "test"], default="live")
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        # No max_value here: the service's refusal names the plan's limit, which is the useful answer
        # (apikeys.services._check_burst; values past PostgreSQL's integer are refused there too).
        burst_limit = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
        burst_window = serializers.ChoiceField(choices=[1, 60], default=1)
        allowed_ips = serializers.ListField(child=serializers.CharField(), default=list)

    class CreatedOutput(KeyOutput):
        key = serializers.CharField()

    class ListOutput(serializers.Serializer):
        class Meta:
            ref_name = "KeyListOutput"

        data = KeyOutput(many=True)  # type: ignore[assignment]  # the body's field; Serializer.data is typed by the stubs

    @extend_schema(summary="List keys", tags=["keys"], responses=ListOutput, operation_id="v1_keys_list")
    def get(self, request):
        keys = selectors.apikey_list(workspace=request.workspace)
        return Response({"data": KeyOutput(keys, many=True).data})

    @extend_schema(summary="Create a key (its secret is shown once)", tags=["keys"], request=InputSerializer,
                   responses={201: CreatedOutput}, examples=[
        OpenApiExample("a read-only key for a server", request_only=True,
                       value={"name": "reporting server", "scopes": ["read"], "burst_limit": 5}),
    ])
    @problems(ScopeNotGrantable)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row, text = services.apikey_create(workspace=request.workspace, actor=actor_of(request), **data.validated_data)
        body = KeyOutput(row).data
        body["key"] = text  # shown once, never again
        return Response(body, status=201, headers={"Cache-Control": "no-store"})


class KeyDetailApi(_KeyApi):
    @extend_schema(summary="A key", tags=["keys"], responses=KeyOutput)
    def get(self, request, key_id):
        return Response(KeyOutput(self.key_or_404(request, key_id)).data)


class KeyRevokeApi(_KeyApi):
    @extend_schema(summary="Revoke a key (everywhere within a second)", tags=["keys"], request=None, responses=KeyOutput)
    def post(self, request, key_id):
        key = services.apikey_revoke(key=self.key_or_404(request, key_id), actor=actor_of(request))
        return Response(KeyOutput(key).data)


class KeyRotateApi(_KeyApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "KeyRotateInput"

        grace_period = serializers.IntegerField(min_value=0, max_value=30 * 86400, default=86400,
                                                help_text="Seconds the old key keeps working (0 = stop now).")

    @extend_schema(summary="Rotate a key (the old one works for a grace period)", tags=["keys"], request=InputSerializer,
                   responses={201: KeyListCreateApi.CreatedOutput},
                   examples=[OpenApiExample("a day's overlap", request_only=True, value={"grace_period": 86400})])
    @problems(ScopeNotGrantable)
    def post(self, request, key_id):
        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        old = self.key_or_404(request, key_id)
        new, text = services.apikey_rotate(key=old, grace=timedelta(seconds=data.validated_data["grace_period"]),
                                           actor=actor_of(request))
        body = KeyOutput(new).data
        body["key"] = text
        old.refresh_from_db()
        body["previous"] = KeyOutput(old).data
        return Response(body, status=201, headers={"Cache-Control": "no-store"})
