"""A workspace's plan feature flags, written by billing through tenants (branding gates on them)."""

import pytest

from auditing.models import AuditEvent
from core.errors import InvalidInput
from tenants.selectors import workspace_has_feature
from tenants.services import workspace_set_features


def test_workspace_set_features_records_flags_and_audits(workspace):
    # given a workspace with no flags
    assert not workspace_has_feature(workspace=workspace, feature="custom_domain")
    # when billing sets its plan's flags
    workspace_set_features(workspace=workspace, features={"custom_domain": True})
    # then the flag reads back, the others are off, and the change is audited
    workspace.refresh_from_db()
    assert workspace_has_feature(workspace=workspace, feature="custom_domain")
    assert not workspace_has_feature(workspace=workspace, feature="custom_branding")
    assert not workspace_has_feature(workspace=workspace, feature="no_such_flag")
    from django_tenants.utils import schema_context
    with schema_context(workspace.schema_name):
        event = AuditEvent.objects.filter(action="features_changed").get()
    assert event.details["to"]["custom_domain"] is True


@pytest.mark.parametrize("features", [{"teleport": True}, {"sso": "yes"}])
def test_workspace_set_features_refuses_unknown_or_non_boolean(workspace, features):
    with pytest.raises(InvalidInput):
        workspace_set_features(workspace=workspace, features=features)
    workspace.refresh_from_db()
    assert workspace.features == {}
