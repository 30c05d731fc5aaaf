"""In a workspace's schema, the model history's actor_id is a plain column, not a foreign key.

django-auditlog's LogEntry.actor is a foreign key to the user table, which lives in public.
Made in every workspace's schema, each such key put two triggers on public.accounts_user,
and that one table paid for all of them (bench/workspaces, 10,000 workspaces: 20,000
triggers): every backend loads them when it first touches the user table, and again after
each new workspace (making the key changes the table); a workspace's provisioning was
15-20 ms slower and growing with their number; deleting a user checked every workspace's
table, each under a lock, until PostgreSQL's lock table ran out ("out of shared memory");
and making the key locks accounts_user against writes, so signups queued on one another.
References across schemas are plain ids elsewhere too (metering's workspace_id). In public,
beside the user table, the key stays.
"""

from django.db import migrations
from django_tenants.utils import get_public_schema_name


def drop_keys_to_other_schemas(apps, schema_editor):
    connection = schema_editor.connection
    if connection.schema_name == get_public_schema_name():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT con.conname FROM pg_constraint con JOIN pg_class r ON r.oid = con.confrelid
             WHERE con.conrelid = to_regclass(quote_ident(current_schema()) || '.auditlog_logentry')
               AND con.contype = 'f' AND r.relnamespace <> to_regnamespace(quote_ident(current_schema()))
            """
        )
        for (name,) in cursor.fetchall():
            cursor.execute('ALTER TABLE auditlog_logentry DROP CONSTRAINT "%s"' % name.replace('"', '""'))


class Migration(migrations.Migration):

    dependencies = [
        ("auditing", "0002_chain_guard"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [
        migrations.RunPython(drop_keys_to_other_schemas, migrations.RunPython.noop),
    ]
