"""Custom CSS, kept only when every selector, property and value is on an allowlist.

The stylesheet is parsed with tinycss2 and written out again from its tokens, so what is
served is what was checked. Refused outright, with the line and column of the token:
- anything that loads or runs something: `url()`, `@import`, `@font-face` (and every other
  at-rule but `@media`), `expression()`, `behavior`, `-moz-binding`, any function not listed;
- anything that could close a <style> element or open markup: a `<` anywhere;
- backslash escapes, which can spell a refused name (`u\\72 l(`) past a reader's eye;
- attribute selectors (with a url() they are the classic CSS exfiltration; without, not needed).
The result is served as its own stylesheet (branding.stylesheet), never inlined: the CSP
allows styles from our own origin only.
"""

import tinycss2
from tinycss2 import ast

from branding.errors import CssRefused

MAX_LENGTH = 20_000

PROPERTIES = frozenset({
    "color", "background", "background-color", "opacity",
    "border", "border-color", "border-width", "border-style", "border-radius",
    "border-top", "border-right", "border-bottom", "border-left",
    "border-top-color", "border-right-color", "border-bottom-color", "border-left-color",
    "outline", "outline-color", "outline-offset", "outline-width", "outline-style", "box-shadow", "text-shadow",
    "font", "font-family", "font-size", "font-style", "font-weight", "letter-spacing", "line-height",
    "text-align", "text-decoration", "text-decoration-color", "text-transform", "white-space", "word-break",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "width", "min-width", "max-width", "height", "min-height", "max-height",
    "display", "gap", "align-items", "justify-content", "flex-wrap", "flex-direction",
    "list-style", "list-style-type", "cursor", "transition",
})
FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla", "calc", "var", "min", "max", "clamp", "linear-gradient"})
SELECTOR_FUNCTIONS = frozenset({"not", "is", "where", "nth-child", "nth-of-type", "nth-last-child", "nth-last-of-type"})
SELECTOR_LITERALS = frozenset({".", ",", ">", "+", "~", ":", "*"})
VALUE_LITERALS = frozenset({",", "/", "+", "-", "*", "%"})
# Named so the refusal says what they are, not just "not on the allowlist".
DANGEROUS_PROPERTIES = {
    "behavior": "behavior loads a script (old Internet Explorer)",
    "-moz-binding": "-moz-binding loads a script (old Firefox)",
}
MEDIA_PRELUDE = (ast.IdentToken, ast.WhitespaceToken, ast.ParenthesesBlock, ast.LiteralToken,
                 ast.DimensionToken, ast.NumberToken)


def _where(index: int, text: str) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _refuse(node, detail: str):
    raise CssRefused(detail, line=getattr(node, "source_line", 1), column=getattr(node, "source_column", 1))


def _function_refusal(name: str) -> str:
    if name == "url":
        return "url() is not allowed: custom CSS may not load anything (use the logo field for images)."
    if name == "expression":
        return "expression() is not allowed: it runs script."
    return f"the function {name}() is not on the allowlist (allowed: {', '.join(sorted(FUNCTIONS))})."


def _check_value(tokens) -> None:
    for token in tokens:
        if isinstance(token, ast.URLToken):
            _refuse(token, _function_refusal("url"))
        elif isinstance(token, ast.FunctionBlock):
            if token.lower_name not in FUNCTIONS:
                _refuse(token, _function_refusal(token.lower_name))
            _check_value(token.arguments)
        elif isinstance(token, ast.LiteralToken):
            if token.value not in VALUE_LITERALS:
                _refuse(token, f"{token.value!r} is not allowed in a value.")
        elif isinstance(token, ast.IdentToken):
            if token.lower_value in ("expression", "javascript"):
                _refuse(token, f"{token.value} is not allowed.")
        elif not isinstance(token, ast.IdentToken | ast.HashToken | ast.NumberToken | ast.PercentageToken
                            | ast.DimensionToken | ast.WhitespaceToken | ast.StringToken):
            _refuse(token, f"{tinycss2.serialize([token])!r} is not allowed in a value.")


def _check_selector(tokens, rule) -> None:
    if not any(not isinstance(t, ast.WhitespaceToken) for t in tokens):
        _refuse(rule, "a rule needs a selector.")
    for token in tokens:
        if isinstance(token, ast.SquareBracketsBlock):
            _refuse(token, "attribute selectors ([...]) are not allowed.")
        elif isinstance(token, ast.FunctionBlock):
            if token.lower_name not in SELECTOR_FUNCTIONS:
                _refuse(token, f"the selector function :{token.lower_name}() is not allowed.")
            _check_selector_arguments(token.arguments)
        elif isinstance(token, ast.LiteralToken):
            if token.value not in SELECTOR_LITERALS:
                _refuse(token, f"{token.value!r} is not allowed in a selector.")
        elif not isinstance(token, ast.IdentToken | ast.HashToken | ast.WhitespaceToken):
            _refuse(token, f"{tinycss2.serialize([token])!r} is not allowed in a selector.")


def _check_selector_arguments(tokens) -> None:
    """:not(.a), :nth-child(2n+1): a selector, or the numbers of an An+B."""
    rest = [t for t in tokens if not isinstance(t, ast.NumberToken | ast.DimensionToken | ast.WhitespaceToken)]
    if rest:
        _check_selector(rest, rest[0])


def _declarations(rule) -> str:
    out = []
    for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
        if isinstance(item, ast.ParseError):
            _refuse(item, f"this declaration could not be read ({item.message}).")
        if isinstance(item, ast.AtRule):
            _refuse(item, f"@{item.at_keyword} is not allowed inside a rule.")
        if not isinstance(item, ast.Declaration):
            _refuse(item, "nested rules are not allowed: write each selector at the top level.")
        name = item.lower_name
        if name in DANGEROUS_PROPERTIES:
            _refuse(item, f"{DANGEROUS_PROPERTIES[name]}: not allowed.")
        if name not in PROPERTIES and not name.startswith("--"):
            _refuse(item, f"the property {item.name!r} is not on the allowlist.")
        _check_value(item.value)
        value = tinycss2.serialize(item.value).strip()
        if not value:
            _refuse(item, f"{item.name} has no value.")
        out.append(f"{item.name}: {value}{' !important' if item.important else ''}")
    return "; ".join(out)


def _rules(nodes, *, nested: bool) -> list[str]:
    out = []
    for node in nodes:
        if isinstance(node, ast.ParseError):
            _refuse(node, f"this could not be read ({node.message}).")
        if isinstance(node, ast.AtRule):
            if node.lower_at_keyword != "media" or nested or node.content is None:
                _refuse(node, f"@{node.at_keyword} is not allowed (only @media, around rules).")
            for token in node.prelude:
                if not isinstance(token, MEDIA_PRELUDE) or (
                        isinstance(token, ast.ParenthesesBlock) and any(
                            not isinstance(t, MEDIA_PRELUDE) for t in token.content)):
                    _refuse(token, "this @media condition is not allowed.")
            inner = tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True)
            out.append(f"@media {tinycss2.serialize(node.prelude).strip()} {{\n"
                       + "\n".join("  " + r for r in _rules(inner, nested=True)) + "\n}")
            continue
        if not isinstance(node, ast.QualifiedRule):
            _refuse(node, "this is not a CSS rule.")
        _check_selector(node.prelude, node)
        out.append(f"{tinycss2.serialize(node.prelude).strip()} {{ {_declarations(node)} }}")
    return out


def sanitize(text: str) -> str:
    """The CSS as it will be served: rules re-serialised from their checked tokens.

    Raises CssRefused (with line and column) at the first construct not allowed.
    """
    text = text or ""
    if len(text) > MAX_LENGTH:
        raise CssRefused(f"custom CSS is limited to {MAX_LENGTH:,} characters ({len(text):,} given).",
                         line=1, column=1)
    for char, why in (("<", "'<' is not allowed: it could close the style element or open markup."),
                      ("\\", "backslash escapes are not allowed."), ("\x00", "a NUL character is not allowed.")):
        index = text.find(char)
        if index >= 0:
            line, column = _where(index, text)
            raise CssRefused(why, line=line, column=column)
    nodes = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    cleaned = "\n".join(_rules(nodes, nested=False))
    if "<" in cleaned or "\\" in cleaned:  # cannot happen with the checks above; a last guard
        raise CssRefused("the CSS could not be made safe.", line=1, column=1)
    return cleaned
