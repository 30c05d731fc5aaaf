# acme and globex, cloned once per module (tests/accounts/shared.py)
from tests.accounts.shared import _module_acme, _module_globex, other_workspace, workspace  # noqa: F401
