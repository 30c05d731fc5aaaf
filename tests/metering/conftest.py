import pytest

from metering import engine, windows

# 2026-03-31 23:59:58 UTC: two seconds before an hour, a day and a month all turn over.
EDGE = 1_775_001_598.0


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def stop_clock(monkeypatch, at: float = EDGE) -> Clock:
    """metering's clock stopped at `at` (epoch s) for the test: the one way tests of every app
    fix the time the metering check, the windows and the drain read."""
    c = Clock(at)
    monkeypatch.setattr(windows, "clock", c)
    return c


@pytest.fixture
def clock(monkeypatch):
    return stop_clock(monkeypatch)


@pytest.fixture(autouse=True)
def _fresh_local_limiter():
    engine.reset_local()
    yield
    engine.reset_local()


def set_policy(workspace, **policy):
    from metering.services import policy_set

    return policy_set(workspace=workspace, policy=policy)
