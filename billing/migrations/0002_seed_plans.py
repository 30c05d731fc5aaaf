from django.db import migrations

from billing.catalogue import DEFAULT_PLANS


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    # The catalogue grows fields later migrations add: seed only the ones this state has.
    fields = {f.name for f in Plan._meta.get_fields()}
    for spec in DEFAULT_PLANS:
        Plan.objects.get_or_create(slug=spec["slug"], defaults={k: v for k, v in spec.items() if k in fields})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
