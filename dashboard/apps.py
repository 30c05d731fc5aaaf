from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The pages that compose several apps: the shell's navigation, the overview, settings and
    the public site's own pages (signup with a plan, terms, privacy). It sits above billing and
    branding (.importlinter) because an overview reads all of them; no app imports it."""

    name = "dashboard"
