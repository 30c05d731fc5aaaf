"""The workspace's theme: its colours as the shell's CSS variables, then its custom CSS.

Served from a URL (branding.views.theme_css), never inlined: the CSP allows stylesheets from
our origin only. The shell (static/css/app.css) draws with --accent (buttons, links), so the
primary colour sets it; --brand-* are there for the shell's header, highlights and for custom CSS.
"""

from branding import colors
from branding.models import Branding


def theme_css(row: Branding, *, custom_css_allowed: bool) -> str:
    # The shell's slots for the brand (templates/shell/base.html): logo beside the name, footer.
    lines = [".brand { display: inline-flex; align-items: center; gap: .5rem }",
             ".brand-logo { max-height: 32px; max-width: 160px; width: auto }",
             ".brand-footer { max-width: 960px; margin: 2rem auto; padding: 1rem 1.5rem; color: var(--muted); "
             "border-top: 1px solid var(--border); font-size: .9rem }",
             ".welcome { font-size: 1.05rem }"]
    props = []
    if row.primary_color:
        props += [f"--accent: {row.primary_color}", f"--brand-primary: {row.primary_color}",
                  f"--brand-on-primary: {colors.text_on(row.primary_color)}"]
    if row.secondary_color:
        props += [f"--brand-secondary: {row.secondary_color}",
                  f"--brand-on-secondary: {colors.text_on(row.secondary_color)}"]
    if row.accent_color:
        props += [f"--brand-accent: {row.accent_color}", f"--brand-on-accent: {colors.text_on(row.accent_color)}"]
    if props:
        lines.append(":root { " + "; ".join(props) + " }")
    if row.secondary_color:
        # The header takes the secondary colour, its text and links the colour that reads on it.
        lines.append(".topbar { background: var(--brand-secondary); color: var(--brand-on-secondary) }")
        lines.append(".topbar a, .topbar .brand, .topbar .muted, .topbar button.link "
                     "{ color: var(--brand-on-secondary) }")
    if row.accent_color:
        lines.append(":focus-visible { outline: 3px solid var(--brand-accent); outline-offset: 2px }")
        lines.append(".nav a[aria-current=page] { border-bottom: 3px solid var(--brand-accent) }")
    if row.custom_css and custom_css_allowed:
        lines.append("/* custom CSS (checked by branding.css) */")
        lines.append(row.custom_css)
    return "\n".join(lines) + "\n"
