"""Where a workspace's theme and images are served, cache-busted by its brand's version."""

from tenants.models import Workspace


def asset_urls(workspace: Workspace) -> dict:
    brand = workspace.brand or {}
    version = brand.get("version", 0)
    return {
        "stylesheet_url": f"/branding/theme.css?v={version}",
        "logo_url": f"/branding/logo.png?v={version}" if brand.get("logo") else None,
        "favicon_url": f"/branding/favicon.png?v={version}" if brand.get("favicon") else None,
    }
