"""django-tenants' migrate_schemas, plus the template schema new workspaces are cloned from.

Migrating public and every workspace, it also creates and migrates TENANT_BASE_SCHEMA,
so a clone is always up to date. `migrate` maps here too (django-tenants does the same).
"""

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import schema_exists


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if not self.sync_tenant or (self.schema_name and self.schema_name != self.PUBLIC_SCHEMA_NAME):
            return
        base = settings.TENANT_BASE_SCHEMA
        if not schema_exists(base):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{base}"')
        executor = self._executor()
        executor.run_migrations(tenants=[base])

    def _executor(self):
        from django_tenants.management.commands.migrate_schemas import GET_EXECUTOR_FUNCTION

        return GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
