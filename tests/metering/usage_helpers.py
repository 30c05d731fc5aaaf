"""Real calls through the whole pipeline, for the usage page's tests: metered requests with a
key (the check, the usage stream, the after-response histogram), then the recorder's flush and
the drain (raw events, rollups, the histogram fold): nothing is written around the pipeline."""

import json
import re
from datetime import UTC, datetime
from http import HTTPStatus

import pytest

from metering.analytics import recorder
from metering.pipeline.drain import drain_all
from tests.metering.conftest import set_policy, stop_clock


@pytest.fixture
def clock_now(monkeypatch):
    """metering's clock fixed at 30 minutes into the current real hour (the drain's retention
    reads the real date: events must be recent), so every range is computed from one instant."""
    now = datetime.now(tz=UTC).replace(minute=30, second=0, microsecond=0)
    c = stop_clock(monkeypatch, now.timestamp())
    recorder.take()  # nothing another test recorded in this process
    yield c
    recorder.take()


def calls(client, workspace, key_text: str, *, admitted: int, refused: int = 0, path="/api/v1/analyze") -> None:
    """`admitted` calls answered 200 and `refused` answered 429 (an hourly quota of `admitted`)."""
    set_policy(workspace, plan="t", meters={"requests": {"hour": admitted}})
    statuses = [client.post(path, {"text": "hello there world"}, format="json", HTTP_HOST="localhost",
                            HTTP_AUTHORIZATION=f"Bearer {key_text}").status_code for _ in range(admitted + refused)]
    assert statuses == [HTTPStatus.OK] * admitted + [HTTPStatus.TOO_MANY_REQUESTS] * refused


def drained() -> None:
    """What a worker's flush and the next drain would do."""
    recorder.flush()
    drain_all()


def chart_spec(response, chart_id: str) -> dict:
    """The data a chart of the page draws (its json_script)."""
    match = re.search(rf'<script id="{chart_id}-data" type="application/json">(.*?)</script>',
                      response.content.decode(), re.DOTALL)
    assert match, f"no data for chart {chart_id}"
    return json.loads(match.group(1))
