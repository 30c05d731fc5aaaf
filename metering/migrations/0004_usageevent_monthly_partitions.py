"""The raw usage table becomes partitioned by month of occurred_at (metering/pipeline/partitions.py):
retention drops whole months instead of deleting rows. A partitioned table's unique constraints
must hold its partition key, so the event's uniqueness becomes (event_id, meter, occurred_at)
(a replayed entry carries its original time, so it still adds nothing), and that is the
primary key as Django sees it: the surrogate id goes (an identity column can't be attached as a partition, which
made django-tenants' clone_schema fail on the template, and nothing referred to it).
In the database it is a unique index, not a PRIMARY KEY constraint: pg_restore --clean (our
restore) cannot drop a partition's inherited constraint and stopped there; an index it can.

Runs in every schema (public and the template too, where the table is empty): the rows are
copied into partitions made for every month they span, plus the current and next month.
Not reversible: going back would mean one table over months of history; restore from backup.
"""

from django.db import migrations, models

T = "metering_usageevent"
COLUMNS = "request_id, key_id, endpoint, meter, units, status, occurred_at, event_id"

FORWARD = f"""
CREATE TABLE {T}_partitioned (
    request_id varchar(128) NOT NULL,
    key_id varchar(16) NOT NULL,
    endpoint varchar(200) NOT NULL,
    meter varchar(64) NOT NULL,
    units bigint NOT NULL,
    status varchar(16) NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    event_id varchar(64) NOT NULL
) PARTITION BY RANGE (occurred_at);

DO $$
DECLARE
    m timestamp;
BEGIN
    FOR m IN SELECT generate_series(
        date_trunc('month', (SELECT least(coalesce(min(occurred_at), now()), now()) FROM {T}) AT TIME ZONE 'UTC'),
        date_trunc('month', (SELECT greatest(coalesce(max(occurred_at), now()), now()) FROM {T}) AT TIME ZONE 'UTC')
            + interval '1 month',
        interval '1 month')
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF {T}_partitioned FOR VALUES FROM (%L) TO (%L)',
                       '{T}_p' || to_char(m, 'YYYYMM'), to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00',
                       to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
    END LOOP;
END $$;

INSERT INTO {T}_partitioned ({COLUMNS}) SELECT {COLUMNS} FROM {T};
DROP TABLE {T};
ALTER TABLE {T}_partitioned RENAME TO {T};
CREATE UNIQUE INDEX usage_event_once ON {T} (event_id, meter, occurred_at);
CREATE INDEX metering_usageevent_occurred_at_9796f305 ON {T} (occurred_at);
CREATE INDEX metering_us_meter_555ca6_idx ON {T} (meter, occurred_at);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("metering", "0003_spooledevent_in_doubt"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD)],
            state_operations=[
                migrations.RemoveConstraint(model_name="usageevent", name="usage_event_once"),
                migrations.RemoveField(model_name="usageevent", name="id"),
                migrations.AddField(
                    model_name="usageevent",
                    name="pk",
                    field=models.CompositePrimaryKey("event_id", "meter", "occurred_at", blank=True, editable=False,
                                                     primary_key=True, serialize=False),
                ),
            ],
        ),
    ]
