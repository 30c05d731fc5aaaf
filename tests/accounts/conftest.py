import pytest
from django.db import connection

from tests.accounts.helpers import drop_schemas, workspace_schemas


@pytest.fixture
def committed_schemas(transactional_db):
    """For `committed` tests: whatever workspace schemas the test commits are dropped after it."""
    before = workspace_schemas()
    yield
    drop_schemas(workspace_schemas() - before)


@pytest.fixture(scope="module")
def public_data_restored(django_db_setup, django_db_blocker):
    """Puts the public schema's rows back after a `committed` test's flush.

    The flush empties every public table, seeded plans included, for the tests that
    run after it. Module scope is what runs after the function-scoped flush; pytest-django
    runs transactional tests last, so a module's one `committed` test is torn down
    right before this.
    """
    with django_db_blocker.unblock():
        data = connection.creation.serialize_db_to_string()
    yield
    with django_db_blocker.unblock():
        connection.creation.deserialize_db_from_string(data)
        connection.close()

