"""Writes of a workspace's branding: every field checked first, then one transaction."""

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from auditing.services import record
from branding import colors, css, images
from branding.errors import upgrade_required
from branding.models import Branding
from branding.selectors import branding_get, lock_branding
from core.errors import InvalidInput
from core.types import Actor
from tenants.models import Workspace
from tenants.selectors import workspace_has_feature
from tenants.services import workspace_set_brand

KEEP: Any = object()  # an image argument left as it is
TEXT_LIMITS = {"company_name": 100, "welcome_message": 500, "footer_text": 300}
COLORS = ("primary_color", "secondary_color", "accent_color")


@dataclass
class BrandingResult:
    branding: Branding
    warnings: list[dict] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _text(value: str | None, name: str) -> str:
    value = (value or "").replace("\x00", "").strip()
    if len(value) > TEXT_LIMITS[name]:
        label = name.replace("_", " ").capitalize()
        raise InvalidInput(f"{label} is limited to {TEXT_LIMITS[name]} characters ({len(value)} given).", field=name)
    return value


def brand_summary(row: Branding) -> dict:
    """What every page and email shows (tenants.models.Workspace.brand)."""
    return {"version": row.version, "company_name": row.company_name, "footer_text": row.footer_text,
            "welcome_message": row.welcome_message, "logo": bool(row.logo), "favicon": bool(row.favicon)}


def branding_update(
    *,
    workspace: Workspace,
    actor: Actor,
    company_name: str,
    primary_color: str,
    secondary_color: str,
    accent_color: str,
    welcome_message: str,
    footer_text: str,
    custom_css: str,
    logo: bytes | None = KEEP,
    favicon: bytes | None = KEEP,
) -> BrandingResult:
    """Replace the workspace's branding. Images: bytes (an upload), None (remove), KEEP.

    Everything is checked before anything is written, so a refusal stores nothing.
    Raises InvalidInput (a text or colour), CssRefused (custom CSS, with line and column),
    ImageRefused (logo or favicon), PlanUpgradeRequired (custom CSS outside the plan).
    Contrast below WCAG AA is saved, and returned as warnings.
    """
    values: dict[str, Any] = {
        "company_name": _text(company_name, "company_name"),
        "welcome_message": _text(welcome_message, "welcome_message"),
        "footer_text": _text(footer_text, "footer_text"),
    }
    for name, value in zip(COLORS, (primary_color, secondary_color, accent_color), strict=True):
        values[name] = colors.normalize(value, field=name)
    current = branding_get(workspace=workspace)
    clean_css = css.sanitize(custom_css or "")
    if clean_css and clean_css != current.custom_css and not workspace_has_feature(
            workspace=workspace, feature="custom_branding"):
        raise upgrade_required("Custom CSS", "custom_branding", "custom_css")
    values["custom_css"] = clean_css
    if logo is not KEEP:
        values["logo"] = images.clean_image(logo, kind="logo") if logo is not None else None
    if favicon is not KEEP:
        values["favicon"] = images.clean_image(favicon, kind="favicon") if favicon is not None else None

    with transaction.atomic(durable=True):
        with schema_context(workspace.schema_name):
            row = lock_branding(workspace=workspace)
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            for name, value in values.items():
                setattr(row, name, value)
            if changed:
                row.version += 1
                row.save()
        if changed:
            workspace_set_brand(workspace=workspace, brand=brand_summary(row))
            record(action="branding_updated", actor=actor, resource=("branding", row.pk), workspace=workspace,
                   details={"changed": changed, "version": row.version})
    found = colors.warnings(primary=row.primary_color, secondary=row.secondary_color, accent=row.accent_color)
    return BrandingResult(branding=row, warnings=found, changed=changed)
