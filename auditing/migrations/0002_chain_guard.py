"""Personal data hashed through a salted digest, retention anchors, and the append-only guard.

The guard is a trigger on every audit table, in every schema this migration runs in:
public, the template schema new workspaces are cloned from, and (through the clone)
every workspace. UPDATE and DELETE are refused, except:
- DELETE when the transaction set `tollgate.audit_retention = 'on'` (the retention job);
- UPDATE of the personal-data columns only, when it set `tollgate.audit_erasure = 'on'`
  (erasing a user);
- an UPDATE that only sets a nullable foreign key to NULL (ON DELETE SET NULL of a user).
The SQL is inline, not imported, so this migration keeps meaning what it meant.
"""

import secrets

from django.db import migrations, models

GUARD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION public.tollgate_audit_guard() RETURNS trigger
LANGUAGE plpgsql AS $guard$
DECLARE
    erasable text[] := string_to_array(TG_ARGV[0], ',');
    nullable text[] := string_to_array(TG_ARGV[1], ',');
    col text;
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('tollgate.audit_retention', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit trail is append-only: DELETE on %.% refused', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation', HINT = 'Only the retention job deletes audit rows.';
    END IF;
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    FOREACH col IN ARRAY nullable LOOP
        IF new_row -> col = 'null'::jsonb THEN
            old_row := old_row - col;
            new_row := new_row - col;
        END IF;
    END LOOP;
    IF old_row = new_row THEN
        RETURN NEW;
    END IF;
    IF current_setting('tollgate.audit_erasure', true) = 'on' AND (old_row - erasable) = (new_row - erasable) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: UPDATE on %.% refused', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', HINT = 'Audit rows are never changed; erasure may only blank personal data.';
END
$guard$;
"""

# table -> (columns erasure may change, nullable foreign keys ON DELETE SET NULL may clear)
GUARDED = {
    "auditing_auditevent": ("actor_label,ip,user_agent,details,pii_salt", ""),
    "auditing_auditchainanchor": ("", ""),
    "auditlog_logentry": (
        "actor_email,remote_addr,remote_port,object_repr,changes,changes_text,serialized_data,additional_data",
        "actor_id",
    ),
}

INSTALL = GUARD_FUNCTION + "".join(
    f"DROP TRIGGER IF EXISTS tollgate_audit_guard ON {table};\n"
    f"CREATE TRIGGER tollgate_audit_guard BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
    f"EXECUTE FUNCTION public.tollgate_audit_guard('{erasable}', '{nullable}');\n"
    for table, (erasable, nullable) in GUARDED.items()
)
UNINSTALL = "".join(f"DROP TRIGGER IF EXISTS tollgate_audit_guard ON {table};\n" for table in GUARDED)


def rechain(apps, schema_editor):
    """Re-hash events written before personal data went through pii_digest.

    Runs before the guard exists. Only the foundation's first events (development
    databases) can be here; they had no database guard, so re-chaining them loses nothing.
    """
    from auditing import chain

    AuditEvent = apps.get_model("auditing", "AuditEvent")
    prev = ""
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        event.ip = chain.canonical_ip(event.ip)
        event.pii_salt = secrets.token_hex(16)
        event.hash_version = chain.HASH_VERSION
        event.prev_hash = prev
        event.pii_digest = chain.pii_digest(event)
        event.hash = chain.event_hash(event)
        event.save(update_fields=["ip", "pii_salt", "hash_version", "prev_hash", "pii_digest", "hash"])
        prev = event.hash


class Migration(migrations.Migration):

    dependencies = [
        ('auditing', '0001_initial'),
        ('auditlog', '0017_add_actor_email'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainAnchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField()),
                ('cutoff', models.DateTimeField()),
                ('last_event_id', models.BigIntegerField()),
                ('last_hash', models.CharField(max_length=64)),
                ('purged', models.PositiveIntegerField()),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.AddField(
            model_name='auditevent',
            name='hash_version',
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='pii_digest',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='pii_salt',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.RunPython(rechain, migrations.RunPython.noop),
        migrations.RunSQL(INSTALL, UNINSTALL),
    ]
