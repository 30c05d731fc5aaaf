"""Brand colours: #rrggbb only, and the WCAG 2.x contrast each gives the text shown on it.

Where each colour is used (branding.stylesheet): primary is the colour of buttons (white text
on it) and links (on the white cards); secondary is the header's background; accent marks
the current page and focus. Text on secondary and accent is dark or white, whichever
contrasts more. Below AA (4.5:1 for body text) the change is saved with a warning: it is
the workspace's choice, but it must know that some people will not read it.
"""

import re

from core.errors import InvalidInput

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
AA = 4.5
WHITE = "#ffffff"
DARK = "#1d2330"  # the shell's text colour (static/css/app.css --fg)


def normalize(value: str | None, *, field: str) -> str:
    """'' (the default colour) or '#rrggbb' in lower case. Raises InvalidInput otherwise."""
    value = (value or "").strip()
    if not value:
        return ""
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if not HEX.match(value):
        raise InvalidInput(f"{value[:20]!r} is not a colour: use hex, e.g. #3b5bdb.", field=field)
    return value.lower()


def _luminance(color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1.0 to 21.0."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Dark or white text, whichever contrasts more with `background`."""
    return WHITE if contrast(background, WHITE) >= contrast(background, DARK) else DARK


def warnings(*, primary: str, secondary: str, accent: str) -> list[dict]:
    """One warning per colour whose text falls below WCAG AA: field, ratio, message."""
    found = []
    if primary and (ratio := contrast(primary, WHITE)) < AA:
        found.append((
            "primary_color", ratio,
            f"White button text and links on {primary} have a contrast of {ratio:.2f}:1, below the 4.5:1 of "
            "WCAG AA: some people will not read them. A darker primary colour fixes it."))
    for field, color, where in (("secondary_color", secondary, "the header"), ("accent_color", accent, "highlights")):
        if color and (ratio := contrast(color, text_on(color))) < AA:
            found.append((
                field, ratio,
                f"Text on {color} ({where}) reaches only {ratio:.2f}:1 with dark or white text, below the 4.5:1 "
                "of WCAG AA. A lighter or darker shade fixes it."))
    return [{"field": f, "ratio": round(r, 2), "message": m} for f, r, m in found]
