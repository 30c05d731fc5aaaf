"""A spooled event whose check may have run in Redis all the same (its reply was lost) is
marked, so that its replay first looks whether Redis counted it (issue 18, finding 11)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0002_usageevent_event_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="spooledevent",
            name="in_doubt",
            field=models.BooleanField(default=False),
        ),
    ]
