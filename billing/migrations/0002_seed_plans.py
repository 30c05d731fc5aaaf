from django.db import migrations

from billing.catalogue import DEFAULT_PLANS


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for spec in DEFAULT_PLANS:
        Plan.objects.get_or_create(slug=spec["slug"], defaults=spec)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
