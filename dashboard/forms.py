from django import forms
from django.contrib.auth.forms import PasswordChangeForm

from accounts.forms import SignupForm


class WorkspaceNameForm(forms.Form):
    name = forms.CharField(max_length=100, label="Workspace name",
                           help_text="Shown to members and in emails. The address never changes.")


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name",
                                help_text="Shown to the other members next to your email.")


class PasswordForm(PasswordChangeForm):
    """Django's own: the current password, the new one twice, the password validators."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Not autofocus: the form is halfway down the settings page, focus stays at its top.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class DeleteWorkspaceForm(forms.Form):
    confirm = forms.CharField(max_length=40, label="Type the workspace's address to confirm")


class PlanSignupForm(SignupForm):
    """The signup form with the plan to start on: a select over the active plans."""

    # Not required: a signup that names no plan starts on the default one.
    plan = forms.ChoiceField(label="Plan", required=False)

    def __init__(self, *args, plans=(), initial_plan: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ChoiceField = self.fields["plan"]  # type: ignore[assignment]
        field.choices = [(p.slug, _plan_label(p)) for p in plans]
        field.initial = initial_plan
        field.help_text = "You can change plans at any time from the Billing page."


def _plan_label(plan) -> str:
    if plan.monthly_price_cents:
        amount = f"{plan.monthly_price_cents // 100}.{plan.monthly_price_cents % 100:02d}"
        return f"{plan.name}: {amount} {plan.currency.upper()} a month"
    return f"{plan.name}: free" if plan.is_default else f"{plan.name}: contact us"
