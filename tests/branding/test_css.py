"""Custom CSS: the allowlist keeps what is plainly styling and refuses, at its line and column,
anything that loads, runs or escapes."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branding.css import sanitize
from branding.errors import CssRefused


def test_sanitize_keeps_allowed_rules_reserialised():
    # given styling on the allowlist, with comments and an @media block
    css = "/* brand */\n.topbar { background: #0b3d91; color: rgb(255, 255, 255) !important }\n" \
          "@media (max-width: 600px) { h1, .nav a:hover { font-size: 1.2rem } }\n"
    # when
    kept = sanitize(css)
    # then the rules are there, rewritten from their tokens, the comment gone
    assert ".topbar { background: #0b3d91; color: rgb(255, 255, 255) !important }" in kept
    assert "@media (max-width: 600px) {\n  h1, .nav a:hover { font-size: 1.2rem }\n}" in kept
    assert "brand" not in kept


@pytest.mark.parametrize(("css", "line", "column", "words"), [
    (".a { color: red }\n.b { background: url(https://evil.test/x.png) }", 2, 18, "url()"),
    (".b { background: url('x.png') }", 1, 18, "url()"),
    ('@import "https://evil.test/x.css";\n.a { color: red }', 1, 1, "@import"),
    ("@font-face { font-family: x; src: local(x) }", 1, 1, "@font-face"),
    (".a {\n  width: expression(alert(1))\n}", 2, 10, "expression()"),
    (".a { behavior: url(x.htc) }", 1, 6, "behavior"),
    (".a { -moz-binding: url(x.xml#xss) }", 1, 6, "-moz-binding"),
    (".a { color: red }\n</style><script>alert(1)</script>", 2, 1, "'<'"),
    (".a { font-family: \"</style>\" }", 1, 20, "'<'"),
    (".a { background: u\\72 l(x) }", 1, 19, "backslash"),
    ("a[href^=http] { color: red }", 1, 2, "attribute selectors"),
    (".a { position: fixed }", 1, 6, "'position'"),
    ("@namespace svg url(http://www.w3.org/2000/svg);", 1, 1, "@namespace"),
    (".a { color: attr(data-x) }", 1, 13, "attr()"),
])
def test_sanitize_refuses_with_line_and_column(css, line, column, words):
    # when / then
    with pytest.raises(CssRefused) as refused:
        sanitize(css)
    assert refused.value.extra["line"] == line and refused.value.extra["column"] == column, refused.value.detail
    assert refused.value.detail.startswith(f"Line {line}, column {column}: ")
    assert words in refused.value.detail
    assert refused.value.extra["field"] == "custom_css"


def test_sanitize_refuses_what_is_too_long():
    with pytest.raises(CssRefused, match="limited to 20,000 characters"):
        sanitize(".a { color: red }\n" * 2000)


CSS_ALPHABET = list("abcdeu{}();:,.#-_>+~*!@/'\"\\<>[]= \n\t0123456789%") + [
    "url(", "@import", "@media", "expression(", "behavior", "-moz-binding", "color", "background", "</style"]


_RULES = st.lists(st.tuples(
    st.sampled_from([".a", "a:hover", "a[href]", "#x > b", "h1, .nav a", ":not(.b)"]),
    st.sampled_from(["color", "background", "behavior", "-moz-binding", "--brand-x", "position", "width"]),
    st.sampled_from(["red", "url(x.png)", "URL( 'x' )", "expression(alert(1))", "#fff", "1px solid red",
                     "rgb(1, 2, 3)", "'</style>'", "u\\72l(x)", "attr(x)", "calc(1px + url(x))"]),
).map(lambda t: f"{t[0]} {{ {t[1]}: {t[2]} }}"), max_size=4).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.lists(st.sampled_from(CSS_ALPHABET), max_size=60).map("".join), _RULES))
def test_sanitize_never_lets_a_refused_construct_through(text):
    # whatever is typed, the answer is a refusal or CSS that holds none of the refused constructs
    try:
        kept = sanitize(text)
    except CssRefused as refused:
        assert refused.extra["line"] >= 1 and refused.extra["column"] >= 1
        return
    lowered = kept.lower()
    for banned in ("url(", "@import", "expression(", "<", "\\", "@font-face"):
        assert banned not in lowered, (text, kept)
    assert not re.search(r"[{;]\s*(behavior|-moz-binding)\s*:", lowered), (text, kept)  # as properties
    assert sanitize(kept) == kept  # what is kept passes again unchanged
