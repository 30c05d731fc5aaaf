from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.permissions import Role


class SignupForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    workspace_name = forms.CharField(max_length=100, label="Workspace name")
    slug = forms.CharField(max_length=40, label="Workspace address",
                           help_text="Lowercase letters, digits and hyphens: acme becomes acme.<your domain>.")


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ConfirmForm(forms.Form):
    """No fields: a signed-in invitee accepts with one click."""


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)


def apply_domain_error(form: forms.Form, exc) -> None:
    """Show a service's refusal next to the field it names (or on top of the form)."""
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, exc.detail)
