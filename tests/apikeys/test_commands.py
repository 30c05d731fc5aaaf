"""manage.py create_api_key prints the key once; bad input is a clear CommandError."""

from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apikeys.models import ApiKey


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_prints_the_key_once(workspace, api_client):
    # when
    out, err = _run("--workspace", "acme", "--name", "deploy bot", "--scopes", "read,write,admin")
    # then stdout is the key alone, and it works
    text = out.strip()
    assert out.count("\n") == 1
    row = ApiKey.objects.get(workspace=workspace)
    assert text.startswith(f"tg_live_{row.key_id}_")
    assert (row.name, row.scopes) == ("deploy bot", ["read", "write", "admin"])
    assert "not shown again" in err
    assert text not in err
    assert api_client.get("/api/v1/keys", HTTP_AUTHORIZATION=f"Bearer {text}").status_code == HTTPStatus.OK


def test_create_api_key_defaults_and_test_mode(workspace):
    # when
    out, _ = _run("--workspace", "acme", "--test")
    # then
    row = ApiKey.objects.get(workspace=workspace)
    assert out.strip().startswith("tg_test_")
    assert (row.environment, row.scopes, row.name) == ("test", ["read", "write"], "CLI key")


def test_create_api_key_unknown_workspace_is_a_clear_error(workspace):
    # when / then
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        _run("--workspace", "nope")
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize(("scopes", "message"), [("read,root", "Unknown scope 'root'"), (",", "at least one scope")])
def test_create_api_key_bad_scopes_is_a_clear_error(workspace, scopes, message):
    # when / then
    with pytest.raises(CommandError, match=message):
        _run("--workspace", "acme", "--scopes", scopes)
    assert ApiKey.objects.count() == 0
