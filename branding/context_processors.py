"""`brand` for every page: the workspace's company name, stylesheet, logo, favicon, footer and
welcome message, from the workspace cached with its host (Workspace.brand): no query."""

from branding.assets import asset_urls


def branding(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return {"brand": None}
    brand = tenant.brand or {}
    if not brand.get("version"):
        return {"brand": None}
    return {"brand": {
        "name": brand.get("company_name") or tenant.name,
        "footer_text": brand.get("footer_text", ""),
        "welcome_message": brand.get("welcome_message", ""),
        **asset_urls(brand),
    }}
