"""Billing endpoints of this side: the public catalogue, the invoice preview, the spend cap.
(Checkout, portal, plan changes, the subscription and the invoice list are the Stripe side's.)"""

import re

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission, actor_of
from billing import selectors, services
from billing.catalogue import included_for
from billing.invoicing.close import invoice_preview
from core.errors import InvalidInput

_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,40}")


class PlanOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    currency = serializers.CharField()
    monthly_price_cents = serializers.IntegerField()
    annual_price_cents = serializers.IntegerField(help_text="0: no annual price")
    included = serializers.DictField(child=serializers.IntegerField(), help_text="units a month per meter")
    included_annual = serializers.DictField(child=serializers.IntegerField(),
                                            help_text="units a month per meter on the annual price")
    overage = serializers.DictField(child=serializers.DictField(), help_text="price model per meter, cents")
    member_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    features = serializers.DictField(child=serializers.BooleanField())
    limits = serializers.DictField(help_text="rate limits (metering's policy shape)")


def plan_data(plan) -> dict:
    return {"slug": plan.slug, "name": plan.name, "description": plan.description, "currency": plan.currency,
            "monthly_price_cents": plan.monthly_price_cents, "annual_price_cents": plan.annual_price_cents,
            "included": included_for(plan, "month"), "included_annual": included_for(plan, "year"),
            "overage": plan.overage or {}, "member_limit": plan.member_limit, "features": plan.features,
            "limits": plan.limits or {}}


class PlanListApi(APIView):
    """The plan catalogue. Public: no key needed."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=PlanOutput(many=True), auth=[])
    def get(self, request):
        return Response({"data": [plan_data(p) for p in selectors.plans_public()]})


class LineOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="base, included, overage, proration, adjustment, credit, carried, tax")
    description = serializers.CharField()
    meter = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = serializers.IntegerField(help_text="cents per `per` units")
    per = serializers.IntegerField()
    amount_cents = serializers.IntegerField()


class PreviewOutput(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="exclusive")
    plan = serializers.CharField()
    currency = serializers.CharField()
    usage = serializers.DictField(child=serializers.IntegerField())
    lines = LineOutput(many=True)
    total_cents = serializers.IntegerField()
    credit_carried_cents = serializers.IntegerField()


class PreviewApi(APIView):
    """This month's invoice as it stands (usage so far), or with `?plan=P` what this month would
    cost on plan P with the same usage."""

    permission_classes = [ScopePermission]
    required_scope = "read"
    session_action = "billing.view"

    @extend_schema(parameters=[OpenApiParameter("plan", str, description="a plan's slug (GET /api/v1/billing/plans)")],
                   responses=PreviewOutput)
    def get(self, request):
        slug = request.query_params.get("plan")
        plan = None
        if slug is not None:
            # A slug's shape first: a NUL byte or a 10 kB value never reaches the database.
            plan = selectors.plan_get(slug=slug) if _SLUG.fullmatch(slug) else None
            if plan is None:
                known = ", ".join(p.slug for p in selectors.plans_public())
                raise InvalidInput(f"Unknown plan {slug[:40]!r}. Plans: {known}.", field="plan")
        preview = invoice_preview(workspace=request.workspace, plan=plan)
        rated = preview.rated
        return Response({
            "period_start": preview.period_start, "period_end": preview.period_end, "plan": preview.plan.slug,
            "currency": preview.plan.currency, "usage": preview.usage,
            "lines": [{"kind": li.kind, "description": li.description, "meter": li.meter, "quantity": li.quantity,
                       "unit_amount": li.unit_amount, "per": li.per, "amount_cents": li.amount} for li in rated.lines],
            "total_cents": rated.total, "credit_carried_cents": rated.credit_carried,
        })


class SpendCapOutput(serializers.Serializer):
    cap_cents = serializers.IntegerField(allow_null=True, help_text="monthly overage budget; null: no cap")
    plan = serializers.CharField()
    limits = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="the monthly limit per overage meter the cap sets")


class SpendCapApi(APIView):
    """The workspace's monthly overage budget. Past it, metered requests are refused (402
    spend_cap_reached). Setting it takes an `admin` key or the billing.manage right (owners)."""

    permission_classes = [ScopePermission]
    session_action = "billing.view"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SpendCapInput"

        cap_cents = serializers.IntegerField(allow_null=True, min_value=0, max_value=100_000_000,
                                             help_text="cents a month; null removes the cap")

    def get_permissions(self):
        if self.request.method == "PUT":
            self.required_scope, self.session_action = "admin", "billing.manage"
        else:
            self.required_scope, self.session_action = "read", "billing.view"
        return super().get_permissions()

    @staticmethod
    def _body(workspace) -> dict:
        sub = selectors.subscription_for(workspace=workspace)
        if sub is None:
            return {"cap_cents": None, "plan": getattr(selectors.plan_default(), "slug", ""), "limits": {}}
        windows = (services.spend_cap_windows(plan=sub.plan, interval=selectors.subscription_interval(sub=sub),
                                              spend_cap_cents=sub.spend_cap_cents)
                   if sub.spend_cap_cents is not None else {})
        return {"cap_cents": sub.spend_cap_cents, "plan": sub.plan.slug,
                "limits": {meter: w["limit"] for meter, w in windows.items()}}

    @extend_schema(responses=SpendCapOutput)
    def get(self, request):
        return Response(self._body(request.workspace))

    @extend_schema(request=InputSerializer, responses=SpendCapOutput)
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.spend_cap_set(workspace=request.workspace, cap_cents=data.validated_data["cap_cents"],
                               actor=actor_of(request))
        return Response(self._body(request.workspace))
