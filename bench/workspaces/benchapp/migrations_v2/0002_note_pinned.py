"""The benchmark's one-column migration: what a feature adding a field to a workspace model does."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("benchapp", "0001_initial")]
    operations = [
        migrations.AddField(model_name="note", name="pinned", field=models.BooleanField(default=False)),
    ]
