"""Where a workspace's theme and images are served, cache-busted by its brand's version."""


def asset_urls(brand: dict) -> dict:
    """From a brand summary (tenants.models.Workspace.brand, branding.services.brand_summary)."""
    version = brand.get("version", 0)
    return {
        "stylesheet_url": f"/branding/theme.css?v={version}",
        "logo_url": f"/branding/logo.png?v={version}" if brand.get("logo") else None,
        "favicon_url": f"/branding/favicon.png?v={version}" if brand.get("favicon") else None,
    }
