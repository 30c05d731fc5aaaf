"""A schema fuzzer (schemathesis) over /api/schema/, against a real gunicorn: no request it
makes from the published document may get a 5xx (its `not_a_server_error` check).

Schemathesis runs its pytest phases on every operation: the schema's examples, coverage (edge
values, missing and wrong-typed fields, methods the operation does not declare, such as OPTIONS)
and fuzzing (examples that fit the schema and examples that break it). Every request carries a
valid key holding every scope (admin, read, write) of a committed workspace on the Enterprise
plan (burst 500/s, so the metered endpoint answers rather than refusing most examples with a 429).
Response conformance checks are not run. Error answers are documented per operation now
(core/openapi.py; tests/core/test_openapi.py holds the server's codes to them), but turning
schemathesis' conformance checks on has not been tried yet.

Deterministic and bounded: Hypothesis is derandomized (its seed comes from the test, not the
clock), keeps no example database, draws at most EXAMPLES per operation, and does not shrink
(a failure is reported as found, with its curl command). Nothing the server answers steers
generation. The module takes ~20 s here (about 1,100 requests).

The key the fuzzer calls with must survive the run. Random key ids never name it, and the key
operations that end a key (revoke, rotate) run in their own test, after every other operation:
each of their examples is sent as generated (random key id) and then again on a key made for
that operation alone, so the revoke and rotate code paths are fuzzed on a real key too. No
operation is excluded.
"""

import json
from dataclasses import dataclass

import pytest
import schemathesis
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from tests.live.conftest import (
    GunicornServer,
    LiveWorkspace,
    drop_workspaces,
    make_committed_workspace,
    start_gunicorn,
    stop_gunicorn,
)

# transaction=True: run after the rolled-back tests, as every live test (tests/live/conftest.py)
pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

EXAMPLES = 60  # fuzzing examples per operation (the coverage phase adds its own, a few dozen)
ENDS_A_KEY = r"/api/v1/keys/\{key_id\}/(revoke|rotate)$"
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@dataclass
class Target:
    server: GunicornServer
    live: LiveWorkspace
    own_keys: dict[str, str]  # "revoke" / "rotate" -> the key id that operation may end

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.live.key_text}"}


@pytest.fixture(scope="module")
def fuzz_target(django_db_setup, django_db_blocker, tmp_path_factory):
    """One gunicorn and one committed workspace for both tests (a server per test would double the run)."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        live = make_committed_workspace("live-fuzz", scopes=("admin", "read", "write"))
        own_keys = {action: live.new_key(name=f"ended by the fuzzer's {action}", scopes=["read"])[0].key_id
                    for action in ("revoke", "rotate")}
    server = start_gunicorn(workers=2, log_dir=tmp_path_factory.mktemp("fuzz"))
    try:
        yield Target(server=server, live=live, own_keys=own_keys)
    finally:
        stop_gunicorn(server)
        with django_db_blocker.unblock():
            drop_workspaces([live])
            connection.close()


@pytest.fixture
def enterprise_plan(fuzz_target, django_db_blocker):
    """Each test starts with an empty Redis (tests/conftest.py): put the plan's limits back."""
    from billing.services import subscription_set_plan

    with django_db_blocker.unblock():
        subscription_set_plan(workspace=fuzz_target.live.workspace, plan_slug="enterprise")


def _published_schema() -> dict:
    """The document /api/schema/ serves, read at collection (in process: no database, no server),
    so that each operation is a test of its own; test_schema_fuzzer_read_what_the_server_publishes
    holds it to what the live server serves."""
    response = Client(HTTP_HOST="localhost").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)


PUBLISHED = _published_schema()
schema = schemathesis.openapi.from_dict(PUBLISHED)


def _call(case, target: Target) -> None:
    case.call_and_validate(base_url=target.server.url, headers=target.auth, checks=[not_a_server_error], timeout=30)


def test_schema_fuzzer_read_what_the_server_publishes(fuzz_target):
    response = fuzz_target.server.get("/api/schema/?format=json")
    assert response.status == 200
    assert response.json() == PUBLISHED


@schema.exclude(path_regex=ENDS_A_KEY).parametrize()
@FUZZ_SETTINGS
def test_schema_fuzzer_finds_no_server_error(case, fuzz_target, enterprise_plan):
    _call(case, fuzz_target)


@schema.include(path_regex=ENDS_A_KEY).parametrize()
@FUZZ_SETTINGS
def test_schema_fuzzer_finds_no_server_error_ending_keys(case, fuzz_target, enterprise_plan):
    # as generated: a random key id
    _call(case, fuzz_target)
    # and on the key this operation may end (revoked or rotated by the first example that succeeds)
    action = case.operation.path.rsplit("/", 1)[1]
    case.path_parameters = {**(case.path_parameters or {}), "key_id": fuzz_target.own_keys[action]}
    _call(case, fuzz_target)


def test_schema_fuzzer_key_survived_the_run(fuzz_target):
    # Last in the module: the fuzzers called with this key to the end
    response = fuzz_target.server.get("/api/v1/info", key=fuzz_target.live.key_text)
    assert response.status == 200, response.body[:300]
    assert response.json()["key"]["id"] == fuzz_target.live.key.key_id
