"""A workspace's branding: one row in the workspace's own schema (deleted with it).

Images are kept here, re-encoded (branding.images), not on a file system: any web process
serves them, and nothing of a workspace outlives its schema.
"""

from django.db import models


class Branding(models.Model):
    company_name = models.CharField(max_length=100, blank=True, default="")
    primary_color = models.CharField(max_length=7, blank=True, default="")
    secondary_color = models.CharField(max_length=7, blank=True, default="")
    accent_color = models.CharField(max_length=7, blank=True, default="")
    welcome_message = models.CharField(max_length=500, blank=True, default="")
    footer_text = models.CharField(max_length=300, blank=True, default="")
    # Kept only as branding.css made it: every selector, property and value on its allowlist.
    custom_css = models.TextField(blank=True, default="")
    logo = models.BinaryField(null=True, blank=True)  # PNG, re-encoded
    favicon = models.BinaryField(null=True, blank=True)  # PNG, re-encoded
    # Bumped on every change: the stylesheet's and images' URLs carry it, so browsers may
    # cache them for a year and still see a change at once.
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"branding v{self.version}"
