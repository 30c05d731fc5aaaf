"""docs/configuration.md against the settings: every variable `config/settings/*.py` and
`config/env.py` read from the environment is documented, nothing documented is gone, and the
literal defaults the page states are the code's."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
SETTINGS_FILES = [*sorted((ROOT / "config" / "settings").glob("*.py")), ROOT / "config" / "env.py"]
OUTSIDE = "## Read outside the settings"


def env_reads(files=SETTINGS_FILES) -> dict[str, list]:
    """{variable: [default, ...]} for every env(...) / env.<cast>(...) call; a default that is not a
    literal is left out (an expression such as REDIS_URL)."""
    reads: dict[str, list] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            named_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env")
            first = node.args[0]
            if not named_env or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            defaults = reads.setdefault(first.value, [])
            for keyword in node.keywords:
                if keyword.arg == "default":
                    try:
                        defaults.append(ast.literal_eval(keyword.value))
                    except ValueError:
                        pass  # an expression: the page describes it in words
    return reads


def documented(text: str) -> dict[str, str]:
    """{variable: its Default cell} of the settings tables (not the 'read outside' one)."""
    rows = {}
    for line in text.split(OUTSIDE)[0].splitlines():
        match = re.match(r"\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def _shown(default) -> str:
    if isinstance(default, list):
        return ",".join(default)
    return str(default)


def test_env_reads_finds_every_kind_of_call(tmp_path):
    # given a settings file with each form of read
    sample = tmp_path / "sample.py"
    sample.write_text('A = env("ONE")\nB = env.int("TWO", default=3)\nC = env.list("THREE", default=["x", "y"])\n'
                      'D = env("FOUR", default=OTHER)\nE = os.environ.get("NOT_ENV")\n')
    # then each env read is found, with its literal default
    assert env_reads([sample]) == {"ONE": [], "TWO": [3], "THREE": [["x", "y"]], "FOUR": []}


def test_every_env_setting_is_documented_with_its_default():
    reads = env_reads()
    rows = documented(CONFIGURATION.read_text())
    assert len(reads) >= 30
    # every variable the settings read is on the page
    assert sorted(set(reads) - set(rows)) == []
    # the page names none they no longer read
    assert sorted(set(rows) - set(reads)) == []
    # and each literal default is the one the page shows
    wrong = [(name, default, rows[name]) for name, defaults in reads.items() for default in defaults
             if isinstance(default, (str, int, list)) and f"`{_shown(default)}`" not in rows[name]
             and not (default in ("", []) and "empty" in rows[name])
             and not (isinstance(default, bool) and f"`{default}`" in rows[name])]
    assert wrong == []
