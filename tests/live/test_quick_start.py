"""docs/QUICK_START.md and README.md, run against a real gunicorn: the docs cannot drift.

Every fenced block of the quick start that follows a `<!-- snippet: LANGUAGE -->` marker is run,
in page order, per language: the curl blocks in one bash process (they share shell variables),
the Python block with this interpreter (httpx is a pinned dev dependency), the JavaScript block
with node. A missing node fails the test rather than skipping it (.ci/run installs it).
The snippets get TOLLGATE_URL and TOLLGATE_KEY as the page tells a reader to set them: the
server's URL and an admin key of a committed workspace on the free plan.

README's claims are checked the same way: what `POST /api/v1/analyze` meters, and that the pages
and URLs it names answer.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = ROOT / "docs" / "QUICK_START.md"
README = ROOT / "README.md"
SNIPPET = re.compile(r"<!-- snippet: (\w+) -->\n```\w*\n(.*?)\n```", re.S)
LANGUAGES = ("curl", "python", "javascript")

pytestmark = pytest.mark.live


def snippets(language: str, text: str | None = None) -> list[str]:
    found = [body for lang, body in SNIPPET.findall(text if text is not None else QUICK_START.read_text())
             if lang == language]
    assert found, f"no `<!-- snippet: {language} -->` block in {QUICK_START.name}"
    return found


def test_every_marked_snippet_is_of_a_language_the_suite_runs():
    assert {lang for lang, _ in SNIPPET.findall(QUICK_START.read_text())} == set(LANGUAGES)
    # and a fence the marker does not reach is not silently skipped
    assert QUICK_START.read_text().count("<!-- snippet:") == len(SNIPPET.findall(QUICK_START.read_text()))


def _command(language: str, snippet_dir: Path) -> list[str]:
    code = "\n".join(snippets(language))
    if language == "curl":
        return ["bash", "-euo", "pipefail", "-c", code]
    if language == "python":
        return [sys.executable, "-c", code]
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the quick start's JavaScript can't be checked (.ci/run installs nodejs)")
    script = snippet_dir / "quickstart.mjs"
    script.write_text(code)
    return [node, str(script)]


@pytest.fixture
def reader(gunicorn_server, live_workspace_factory):
    """What a reader has after step 1: a server and an admin key (the demo key's scopes)."""
    live = live_workspace_factory("live-quickstart", scopes=("read", "write", "admin"))
    env = {**os.environ, "TOLLGATE_URL": gunicorn_server.url, "TOLLGATE_KEY": live.key_text}
    return gunicorn_server, live, env


@pytest.mark.parametrize("language", LANGUAGES)
def test_quick_start_snippets_run_against_a_live_server(language, reader, tmp_path):
    server, live, env = reader
    # when the page's snippets in this language run, in order
    done = subprocess.run(_command(language, tmp_path), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    out = done.stdout

    # then they succeed
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{out}\n--- stderr\n{done.stderr}"
    # a call was analysed and its rate-limit headers read
    assert "positive" in out and re.search(r'"burst";r=\d+;t=\d+', out), out
    # a 429 was met and waited out as Retry-After said, then the call admitted
    assert re.search(r"429 rate_limited.*retrying in 1\s?s", out), out
    assert re.search(r"(admitted after waiting: |answered )200", out), out
    # and the usage read shows the workspace's requests
    assert re.search(r"requests", out.split("429")[-1]), out
    # the key the snippet created belongs to the reader's workspace, with the scopes it asked for
    from apikeys.models import ApiKey

    created = list(ApiKey.objects.filter(workspace=live.workspace, name__startswith="quick start"))
    assert len(created) == 1 and sorted(created[0].scopes) == ["read", "write"] and created[0].burst_limit == 1


# README -------------------------------------------------------------------------------------

def _readme_row(endpoint: str) -> str:
    for line in README.read_text().splitlines():
        if line.startswith("|") and endpoint in line:
            return line
    raise AssertionError(f"README's API table has no row for {endpoint}")


def test_readme_says_what_analyze_meters(gunicorn_server, live_workspace_factory):
    # given README's claim about the reference endpoint: `meter` +N or `meter` = words
    row = _readme_row("`POST /api/v1/analyze`")
    claims = dict(re.findall(r"`(\w+)` (\+1|= words)", row))
    assert "requests" in claims, row
    # and a workspace whose plan limits each claimed meter, so /limits shows it
    from metering.services import policy_set

    live = live_workspace_factory("live-readme")
    policy_set(workspace=live.workspace, policy={"plan": "t", "meters": {m: {"hour": 1000} for m in claims}})
    text = "I love this API, it is great"
    # when one call is made
    response = gunicorn_server.post("/api/v1/analyze", key=live.key_text, body={"text": text})
    assert response.status == 200, response.body[:300]
    # then each meter counted what README says
    used = {w["meter"]: w["used"] for w in gunicorn_server.get("/api/v1/limits", key=live.key_text).json()["limits"]}
    expected = {"+1": 1, "= words": len(re.findall(r"[A-Za-z][A-Za-z']*", text))}
    assert used == {meter: expected[claim] for meter, claim in claims.items()}


def _local_urls(text: str) -> set[str]:
    """Paths README and the docs send a reader to on the local server."""
    urls = set(re.findall(r"https?://(?:localhost|127\.0\.0\.1):8000(/[^\s)>`'\"]*)", text))
    urls |= {m for m in re.findall(r"`(?:GET |POST )?(/(?:api|health|metrics|admin|login)[^\s`]*)`", text)}
    # Not pages: placeholders, optional parts (`[?plan=P]`) and API prefixes (`/api/`, `/api/platform/v1/`).
    return {u for u in urls if "{" not in u and "<" not in u and "..." not in u and "[" not in u
            and u not in ("/api/", "/api/v1/", "/api/platform/v1/")}


def test_readme_and_docs_urls_answer(gunicorn_server, live_workspace_factory):
    # given every local URL README.md and docs/*.md name (on the public host)
    live = live_workspace_factory("live-readme-urls")
    text = README.read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    urls = sorted(_local_urls(text))
    assert {"/api/docs/", "/api/redoc/", "/api/schema/", "/health/", "/api/v1/limits"} <= set(urls), urls
    wrong = []
    for url in urls:
        # when each is opened (with the workspace's key for the API)
        response = gunicorn_server.get(url, key=live.key_text if url.startswith("/api/v1/") else None)
        # then it exists and works: no 404, no server error (/metrics may refuse: 401/403)
        if response.status == 404 or response.status >= 500 or response.code == "not_found":
            wrong.append((url, response.status))
    assert wrong == []
