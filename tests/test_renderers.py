"""core.renderers.JSONRenderer writes the bytes DRF's JSONRenderer writes."""

import dataclasses
import datetime as dt
import decimal
import math
import uuid
from collections import OrderedDict

import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework import renderers as drf
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core.renderers import JSONRenderer


class Colour(models.TextChoices):
    RED = "red", "Red"


class Size(models.IntegerChoices):
    SMALL = 1, "Small"


@dataclasses.dataclass
class Point:
    x: int


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


UTC_NOON = dt.datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=dt.UTC)
SAME_AS_DRF = [
    {"words": 1},
    {"words": 1, "sentiment": {"label": "neutral", "score": 0.0}, "emotions": {"joy": 0.333, "fear": 0.667}},
    [1, 2.5, -0.0, True, False, None, "", "text"],
    {"unicode": "naïve café 日本語 🎉", "controls": "\x00\x01\x1f\t\n\r\b\f\x7f", "quotes": '"\\/'},
    {"separators": "a\u2028b\u2029c"},
    {"datetime": UTC_NOON, "naive": dt.datetime(2026, 1, 2, 3, 4, 5), "date": dt.date(2026, 1, 2),
     "time": dt.time(3, 4, 5, 678000), "other_zone": UTC_NOON.astimezone(dt.timezone(dt.timedelta(hours=2)))},
    {"duration": dt.timedelta(days=1, seconds=5), "decimal": decimal.Decimal("12.50"), "uuid": uuid.UUID(int=7)},
    {"lazy": gettext_lazy("Workspace"), "choices": [Colour.RED, Size.SMALL]},
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    OrderedDict([("b", 1), ("a", 2)]),
    ReturnDict({"id": 1}, serializer=None),
    ReturnList([{"id": 1}], serializer=None),
    ("tuple", "as", "list"),
    {"big": 2**63 - 1, "negative": -(2**63)},
    {"too_big_for_orjson": 2**70},
    {"bytes": b"raw"},
    {"deeper_than_orjson_goes": _nested(300)},
]


@pytest.mark.parametrize("data", SAME_AS_DRF, ids=range(len(SAME_AS_DRF)))
def test_same_bytes_as_drf(data):
    assert JSONRenderer().render(data, "application/json") == drf.JSONRenderer().render(data, "application/json")


def test_an_indent_asked_for_is_honoured_by_drf():
    data = {"a": [1, 2]}
    indented = JSONRenderer().render(data, "application/json; indent=2")
    assert indented == drf.JSONRenderer().render(data, "application/json; indent=2")
    assert b"\n  " in indented


def test_nothing_renders_as_nothing():
    assert JSONRenderer().render(None) == b""


def test_what_neither_can_write_raises_as_drf_does():
    with pytest.raises(TypeError):
        drf.JSONRenderer().render({"point": Point(1)})
    with pytest.raises(TypeError):
        JSONRenderer().render({"point": Point(1)})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError):
        JSONRenderer().render(loop)


def test_the_differences_are_the_documented_ones():
    # DRF's strict mode raised on NaN (a 500); orjson writes null
    with pytest.raises(ValueError):
        drf.JSONRenderer().render({"x": math.nan})
    assert JSONRenderer().render({"x": math.nan, "y": math.inf}) == b'{"x":null,"y":null}'
    # a very small float keeps its value, not Python's spelling
    assert JSONRenderer().render([1e-05]) == b"[0.00001]"


def test_it_is_the_api_default():
    from rest_framework.settings import api_settings

    assert [JSONRenderer] == api_settings.DEFAULT_RENDERER_CLASSES
