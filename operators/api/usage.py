"""Resetting usage for a window: an operator's remedy (a runaway script, a mistaken charge).
The reason is required; it goes into the platform audit trail with who reset what."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apikeys.selectors import apikey_get
from core.errors import NotFound
from metering.services import RESET_WINDOWS, usage_reset
from operators.api.base import TAG, PlatformApi


class PlatformResetOutput(serializers.Serializer):
    workspace = serializers.CharField()
    window = serializers.CharField()
    reset = serializers.DictField(child=serializers.IntegerField(),
                                  help_text="Units each counter held before the reset, e.g. {\"requests:hour\": 1000}; "
                                            "for a key's burst, the ms it had left to refill")


class WorkspaceUsageResetApi(PlatformApi):
    """Zero the workspace's counters for the current window (every meter its plan limits in it, or
    `meter`): its next request is admitted again. Recorded usage (and billing) is unchanged."""

    required_scopes = {"POST": "usage:reset"}

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformUsageResetInput"

        window = serializers.ChoiceField(choices=[w for w in RESET_WINDOWS if w != "burst"])
        meter = serializers.CharField(max_length=64, required=False)
        reason = serializers.CharField(max_length=500, help_text="Why: kept in the audit trail")

    @extend_schema(tags=[TAG], request=InputSerializer, responses=PlatformResetOutput, examples=[
        OpenApiExample("hour", value={"window": "hour", "reason": "runaway retry loop, ticket 4411"},
                       request_only=True)])
    def post(self, request, slug):
        workspace = self.workspace(slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        held = usage_reset(workspace=workspace, window=data.validated_data["window"],
                           meter=data.validated_data.get("meter"), reason=data.validated_data["reason"],
                           actor=self.actor(request))
        return Response({"workspace": workspace.slug, "window": data.validated_data["window"], "reset": held})


class KeyUsageResetApi(PlatformApi):
    """Zero a key's burst window (the only window that is a key's own; quotas are the workspace's)."""

    required_scopes = {"POST": "usage:reset"}

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformKeyUsageResetInput"

        reason = serializers.CharField(max_length=500, help_text="Why: kept in the audit trail")

    @extend_schema(tags=[TAG], request=InputSerializer, responses=PlatformResetOutput)
    def post(self, request, slug, key_id):
        workspace = self.workspace(slug)
        key = apikey_get(workspace=workspace, key_id=key_id)
        if key is None:  # another workspace's key too
            raise NotFound(f"No key {key_id!r} in workspace {workspace.slug!r}.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        held = usage_reset(workspace=workspace, window="burst", key_id=key.key_id,
                           reason=data.validated_data["reason"], actor=self.actor(request))
        return Response({"workspace": workspace.slug, "window": "burst", "reset": held})
