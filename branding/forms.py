from django import forms

from branding import images

COLOR_HELP = "Hex, e.g. #3b5bdb. Empty: the default."


class BrandingForm(forms.Form):
    company_name = forms.CharField(required=False, max_length=100,
                                   help_text="Shown in the header, on the login page and in emails.")
    primary_color = forms.CharField(required=False, max_length=7, label="Primary colour",
                                    help_text="Buttons and links. " + COLOR_HELP)
    secondary_color = forms.CharField(required=False, max_length=7, label="Secondary colour",
                                      help_text="The header's background. " + COLOR_HELP)
    accent_color = forms.CharField(required=False, max_length=7, label="Accent colour",
                                   help_text="The current page and keyboard focus. " + COLOR_HELP)
    welcome_message = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="Shown on the login page and the overview.")
    footer_text = forms.CharField(required=False, max_length=300, help_text="At the foot of every page and email.")
    logo = forms.FileField(required=False, help_text="PNG, JPEG or WebP, at most 1 MB. SVG is not accepted.",
                           widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}))
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    favicon = forms.FileField(required=False, help_text="PNG, JPEG or WebP, at most 1 MB; shown at 32 px.",
                              widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}))
    remove_favicon = forms.BooleanField(required=False, label="Remove the favicon")
    custom_css = forms.CharField(required=False, label="Custom CSS", strip=False,
                                 widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
                                 help_text="Selectors, properties and values from an allowlist; no url(), @import "
                                           "or @font-face.")

    def __init__(self, *args, custom_css_allowed: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not custom_css_allowed:
            self.fields["custom_css"].disabled = True

    def image(self, name: str) -> bytes | None:
        """The upload's bytes (read up to just past the limit: images.clean_image refuses more)."""
        upload = self.cleaned_data.get(name)
        return upload.read(images.MAX_BYTES + 1) if upload else None


class DomainForm(forms.Form):
    domain = forms.CharField(max_length=300, label="Domain", help_text="e.g. app.example.com",
                             widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
