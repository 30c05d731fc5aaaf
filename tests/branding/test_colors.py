"""WCAG contrast of the brand colours: the ratios of the spec, and the warnings they give."""

import pytest

from branding import colors
from core.errors import InvalidInput


@pytest.mark.parametrize(("a", "b", "ratio"), [
    ("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48),
    ("#767676", "#ffffff", 4.54), ("#ff0000", "#ffffff", 4.0),  # the reference values quoted with WCAG
])
def test_contrast_matches_wcag(a, b, ratio):
    assert colors.contrast(a, b) == pytest.approx(ratio, abs=0.01)
    assert colors.contrast(b, a) == pytest.approx(ratio, abs=0.01)


def test_warnings_name_each_colour_below_aa():
    # given a light primary (white text on it), a mid-grey header, a fine accent
    found = colors.warnings(primary="#74c0fc", secondary="#808080", accent="#1864ab")
    # then
    assert [w["field"] for w in found] == ["primary_color", "secondary_color"]
    assert found[0]["ratio"] == pytest.approx(colors.contrast("#74c0fc", "#ffffff"), abs=0.01)
    assert "below the 4.5:1 of WCAG AA" in found[0]["message"]
    assert colors.warnings(primary="#0b7285", secondary="#212529", accent="") == []


@pytest.mark.parametrize(("value", "kept"), [("", ""), ("#ABC", "#aabbcc"), (" #0B7285 ", "#0b7285")])
def test_normalize_keeps_hex(value, kept):
    assert colors.normalize(value, field="primary_color") == kept


@pytest.mark.parametrize("value", ["blue", "#12345", "#gggggg", "rgb(1,2,3)", "#1234567"])
def test_normalize_refuses_what_is_not_hex(value):
    with pytest.raises(InvalidInput, match="is not a colour"):
        colors.normalize(value, field="primary_color")
