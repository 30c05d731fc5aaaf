"""check.lua and the engine read one layout (metering/layout.py): a position written by hand on
either side fails here."""

import pytest

from core.redis import get_redis
from metering import engine, layout
from metering.services import credits_top_up
from tests.metering.conftest import set_policy


def test_check_lua_names_only_layout_positions_and_uses_every_field():
    # given the script's template and the layout
    names = layout.names_in(engine._SCRIPT_TEMPLATE)
    known = set(layout.positions())
    # then every @name is one the layout defines, every window and reply field is read or
    # written by the script, and the rendered script has no @name left
    assert names <= known, names - known
    assert {f for f in layout.WINDOW} <= names
    assert {f"head_{f}" for f in layout.HEAD} <= names
    assert {f"reply_{f}" for f in layout.REPLY} <= names
    assert {f"reply_w_{f}" for f in layout.REPLY_WINDOW} <= names
    assert "@" not in engine._SCRIPT_SOURCE


def test_render_script_refuses_an_unknown_name():
    with pytest.raises(KeyError):
        layout.render_script("return S[j + @no_such_field]")


def _scenario(workspace, owner):
    """Burst 2/s, 3 requests an hour, 1 credit a month plus 1 bought: every kind of window,
    admitted, refused by each, and the credits' top-up."""
    set_policy(workspace, plan="t", burst={"limit": 2, "window": 1},
               meters={"requests": {"hour": 3}, "runs": {"credits": 1}})
    credits_top_up(workspace=workspace, meter="runs", units=1, actor=owner)

    class Key:
        key_id, burst_limit, burst_window = "k1", None, 1

    out = []
    for costs in ({"requests": 1, "runs": 1}, {"requests": 1, "runs": 1}, {"requests": 1, "runs": 1},
                  {"requests": 1}, {"requests": 1}):
        d = engine.check(workspace=workspace, costs=costs, request_id="r", key=Key())
        out.append((d.admitted, d.refused_index, d.retry_after, d.remaining, d.used, d.topups, d.crossing_flags))
    return out


def test_a_shuffled_layout_gives_the_same_decisions(workspace, owner, clock, monkeypatch):
    # given the decisions of a scenario with the layout as it is
    expected = _scenario(workspace, owner)
    get_redis().flushdb()
    # when every part of the layout is put in another order (script re-rendered, engine re-read)
    monkeypatch.setattr(layout, "HEAD", tuple(reversed(layout.HEAD)))
    monkeypatch.setattr(layout, "WINDOW", tuple(reversed(layout.WINDOW)))
    monkeypatch.setattr(layout, "REPLY", tuple(reversed(layout.REPLY)))
    monkeypatch.setattr(layout, "REPLY_WINDOW", tuple(reversed(layout.REPLY_WINDOW)))
    engine.load_layout()
    try:
        shuffled = _scenario(workspace, owner)
    finally:
        monkeypatch.undo()
        engine.load_layout()
    # then nothing changes: both sides follow the layout
    assert shuffled == expected
    assert [row[0] for row in expected] == [True, True, False, False, False]  # the scenario refuses too
