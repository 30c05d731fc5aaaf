"""A usage event's identity becomes server-made (event_id), no longer the caller's X-Request-ID
(issue 18, finding 1). Rows stored before get "legacy-<id>": unique, and no stream entry or
spool id can take that form."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="usageevent",
            name="event_id",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunSQL(
            "UPDATE metering_usageevent SET event_id = 'legacy-' || id WHERE event_id IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="event_id",
            field=models.CharField(max_length=64),
        ),
        migrations.RemoveConstraint(
            model_name="usageevent",
            name="usage_event_once",
        ),
        migrations.AddConstraint(
            model_name="usageevent",
            constraint=models.UniqueConstraint(fields=("event_id", "meter"), name="usage_event_once"),
        ),
    ]
