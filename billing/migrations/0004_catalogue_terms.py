"""The catalogue with terms (billing.catalogue): prices monthly and annual, included units,
overage prices, member limits, feature flags. The seeded plans take the catalogue's values
(none was sold before billing had terms); `starter` becomes `startup` ($49/month or $499/year),
its subscriptions with it."""

from django.db import migrations

from billing.catalogue import DEFAULT_PLANS


def forward(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    if not Plan.objects.filter(slug="startup").exists():
        Plan.objects.filter(slug="starter").update(slug="startup")
    fields = {f.name for f in Plan._meta.get_fields()}
    for spec in DEFAULT_PLANS:
        values = {k: v for k, v in spec.items() if k in fields and k != "slug"}
        if not Plan.objects.filter(slug=spec["slug"]).update(**values):
            Plan.objects.create(slug=spec["slug"], **values)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_plan_terms_invoices_spend_cap")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
