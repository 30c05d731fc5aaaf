"""REST endpoints of a workspace's subscription: /api/v1/billing/...

Who may call them: a dashboard session needs billing.view to read and billing.manage (owners)
to change anything (accounts.permissions.MATRIX). An API key needs the `admin` scope for both;
to change billing, the key must also have been made by someone who holds billing.manage now:
Admins may grant `admin` keys but may not manage billing, and a key must not let them.
Every POST honours Idempotency-Key (core/idempotency.py). Without Stripe they answer
`stripe_not_configured` (409) and the reads still work.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import can
from accounts.selectors import membership_for
from apikeys.authentication import ApiKeyPrincipal
from apikeys.errors import InsufficientScope
from apikeys.models import ApiKey
from apikeys.permissions import ScopePermission, actor_of
from billing import selectors
from billing.models import Subscription
from billing.stripe import changes, client
from billing.stripe.dunning import dunning_notice
from core.idempotency import idempotent, key_of
from tenants.selectors import workspace_url

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Retries with the same key and body get the first answer again (24 h); another body is a 409.")


def _scope(request) -> str:
    return f"billing:{request.workspace.pk}"


class SubscriptionOutput(serializers.Serializer):
    plan = serializers.CharField(source="plan.slug")
    plan_name = serializers.CharField(source="plan.name")
    status = serializers.CharField()
    interval = serializers.CharField()
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    trial_end = serializers.DateTimeField(allow_null=True)
    pending_plan = serializers.CharField(source="pending_plan.slug", allow_null=True, default=None)
    past_due_since = serializers.DateTimeField(allow_null=True)
    limited_since = serializers.DateTimeField(source="dunning_limited_at", allow_null=True)
    stripe_customer = serializers.CharField(source="stripe_customer_id")
    stripe_subscription = serializers.CharField(source="stripe_subscription_id")
    collection = serializers.SerializerMethodField()

    def get_collection(self, sub: Subscription) -> str:
        """"stripe" when payments are collected through Stripe, "not_collected" otherwise."""
        return "stripe" if client.configured() and sub.stripe_subscription_id else "not_collected"


class _BillingApi(APIView):
    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "billing.view"

    def check_permissions(self, request):
        super().check_permissions(request)
        if request.method == "POST":
            self._require_manage(request)

    @staticmethod
    def _require_manage(request) -> None:
        if isinstance(request.user, ApiKeyPrincipal):
            row = ApiKey.objects.select_related("created_by").filter(pk=request.user.key.pk).first()
            creator = row.created_by if row is not None else None
            membership = membership_for(user=creator, workspace=request.workspace) if creator else None
            allowed = membership is not None and membership.is_active and can(membership.role, "billing.manage")
            if not allowed:
                raise InsufficientScope("Changing billing needs a key made by a workspace owner (billing.manage).")
            return
        membership = getattr(request._request, "membership", None)
        if not can(getattr(membership, "role", None), "billing.manage"):
            raise InsufficientScope("Only the workspace's owners may change billing.")

    def subscription(self, request) -> Subscription | None:
        return selectors.subscription_for(workspace=request.workspace)


class BillingSubscriptionApi(_BillingApi):
    @extend_schema(responses=SubscriptionOutput)
    def get(self, request):
        sub = self.subscription(request)
        if sub is None:
            default = selectors.plan_default()
            return Response({"plan": default.slug if default else None, "status": "active", "collection":
                             "not_collected", "stripe_subscription": "", "dunning": None})
        return Response({**SubscriptionOutput(sub).data, "dunning": dunning_notice(workspace=request.workspace)})


class InvoiceOutput(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    total = serializers.IntegerField(help_text="Minor units (cents).")
    amount_due = serializers.IntegerField()
    amount_paid = serializers.IntegerField()
    created = serializers.DateTimeField()
    period_start = serializers.IntegerField(allow_null=True)
    period_end = serializers.IntegerField(allow_null=True)
    hosted_invoice_url = serializers.CharField(allow_null=True)
    origin = serializers.CharField(help_text="Where the invoice comes from: \"stripe\".")


class BillingInvoiceListApi(_BillingApi):
    @extend_schema(responses=InvoiceOutput(many=True))
    def get(self, request):
        rows = selectors.stripe_invoices_for(workspace=request.workspace)
        return Response({"data": InvoiceOutput(rows, many=True).data})


class BillingCheckoutApi(_BillingApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BillingCheckoutInput"

        plan = serializers.SlugField(max_length=40)
        interval = serializers.ChoiceField(choices=Subscription.Interval.values, default="month")

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        url = serializers.URLField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent(_scope)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        back = workspace_url(request.workspace, "/billing/")
        session = changes.subscription_checkout_start(
            workspace=request.workspace, plan_slug=data.validated_data["plan"],
            interval=data.validated_data["interval"], success_url=back + "?checkout=done",
            cancel_url=back + "?checkout=canceled", idempotency_key=key_of(request))
        return Response(session, status=201)


class BillingPortalApi(_BillingApi):
    @extend_schema(request=None, responses={201: BillingCheckoutApi.OutputSerializer(partial=True)},
                   parameters=[IDEMPOTENCY_HEADER])
    @idempotent(_scope)
    def post(self, request):
        session = changes.subscription_portal_start(workspace=request.workspace,
                                                    return_url=workspace_url(request.workspace, "/billing/"))
        return Response(session, status=201)


class ChangeOutput(serializers.Serializer):
    change = serializers.CharField()
    effective = serializers.CharField()
    effective_at = serializers.DateTimeField(allow_null=True)
    rule = serializers.CharField()
    subscription = SubscriptionOutput()


class BillingChangePlanApi(_BillingApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BillingChangePlanInput"

        plan = serializers.SlugField(max_length=40)
        interval = serializers.ChoiceField(choices=Subscription.Interval.values, required=False)

    @extend_schema(request=InputSerializer, responses=ChangeOutput, parameters=[IDEMPOTENCY_HEADER])
    @idempotent(_scope)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = changes.subscription_change_plan(
            workspace=request.workspace, plan_slug=data.validated_data["plan"],
            interval=data.validated_data.get("interval"), actor=actor_of(request),
            idempotency_key=key_of(request))
        return Response(ChangeOutput(change).data)


class BillingCancelApi(_BillingApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BillingCancelInput"

        at_period_end = serializers.BooleanField(
            default=True, help_text="true: at the end of the period paid for; false: now, nothing refunded.")

    @extend_schema(request=InputSerializer, responses=SubscriptionOutput, parameters=[IDEMPOTENCY_HEADER])
    @idempotent(_scope)
    def post(self, request):
        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        sub = changes.subscription_cancel(workspace=request.workspace,
                                          at_period_end=data.validated_data["at_period_end"],
                                          actor=actor_of(request),
                                          idempotency_key=key_of(request))
        return Response(SubscriptionOutput(sub).data)


class BillingReactivateApi(_BillingApi):
    @extend_schema(request=None, responses=SubscriptionOutput, parameters=[IDEMPOTENCY_HEADER])
    @idempotent(_scope)
    def post(self, request):
        sub = changes.subscription_reactivate(workspace=request.workspace, actor=actor_of(request),
                                              idempotency_key=key_of(request))
        return Response(SubscriptionOutput(sub).data)
