"""The first ten minutes of a workspace, in a real browser: sign up, invite, accept, change a role."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.permissions import Role
from tests.accounts.helpers import committed
from tests.e2e.support import off_loop

pytestmark = [pytest.mark.browser, committed]


def test_signup_invite_accept_and_change_role_in_chromium(public_data_restored, site, browser, screenshot):
    port, url = site
    # given a visitor on the public site
    owner = browser.new_context().new_page()
    owner.goto(url("localhost", "/signup/"))
    expect(owner.locator("h1")).to_have_text("Create your workspace")

    # when they sign up
    owner.fill("#id_full_name", "Ana Lima")
    owner.fill("#id_email", "ana@initech.test")
    owner.fill("#id_password", "a sound passphrase 42")
    owner.fill("#id_workspace_name", "Initech")
    owner.fill("#id_slug", "initech")
    owner.click("button:has-text('Create workspace')")

    # then they are asked to confirm their email, and the link is in the outbox
    expect(owner.locator("h1")).to_have_text("Check your email")
    screenshot(owner, "00-check-your-email")
    [signup_mail] = mail.outbox
    confirm = re.search(r"http://\S+/signup/confirm/\S+/", signup_mail.body).group(0)
    assert confirm.startswith(url("localhost", "/signup/confirm/"))
    mail.outbox.clear()

    # when they follow it and press its one button
    owner.goto(confirm)
    expect(owner.locator("h1")).to_have_text("Create Initech")
    screenshot(owner, "00-confirm-signup")
    owner.click("button:has-text('Create workspace')")

    # then they land, signed in, on their workspace's dashboard on its own subdomain
    expect(owner).to_have_url(url("initech.localhost", "/"))
    expect(owner.locator("h1")).to_have_text("Initech")
    expect(owner.locator(".account")).to_contain_text("ana@initech.test · Owner")
    screenshot(owner, "01-dashboard-after-signup")

    # when they invite a colleague from the members page
    owner.click("nav >> text=Members")
    expect(owner).to_have_url(url("initech.localhost", "/members/"))
    owner.fill("#id_email", "bo@initech.test")
    owner.select_option("#id_role", Role.MEMBER)
    owner.click("button:has-text('Send invitation')")

    # then the invitation is pending and its email is in the outbox with a link to this host
    expect(owner.locator(".messages")).to_contain_text("Invitation sent to bo@initech.test.")
    expect(owner.locator("text=Pending invitations")).to_be_visible()
    screenshot(owner, "02-invitation-sent")
    assert [m.to for m in mail.outbox] == [["bo@initech.test"]]
    link = re.search(r"http://\S+/invite/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(url("initech.localhost", "/invite/"))

    # when the colleague opens the link in their own browser and chooses a password
    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.locator("h1")).to_have_text("Join Initech")
    invitee.fill("#id_full_name", "Bo Chen")
    invitee.fill("#id_password", "another sound passphrase")
    invitee.click("button:has-text('Create account and join')")

    # then they are a signed-in member of the workspace
    expect(invitee).to_have_url(url("initech.localhost", "/"))
    expect(invitee.locator(".messages")).to_contain_text("Welcome to Initech.")
    expect(invitee.locator(".account")).to_contain_text("bo@initech.test · Member")
    screenshot(invitee, "03-invitee-joined")

    # when the owner makes them a manager
    owner.reload()
    row = owner.locator("tr", has_text="bo@initech.test")
    row.get_by_label("Role of bo@initech.test").select_option(Role.MANAGER)
    row.locator("button:has-text('Change')").click()

    # then the page says so, the row shows it, and the colleague's next page shows it too
    expect(owner.locator(".messages")).to_contain_text("bo@initech.test is now manager.")
    expect(owner.locator("tr", has_text="bo@initech.test").get_by_label("Role of bo@initech.test")).to_have_value(
        Role.MANAGER
    )
    screenshot(owner, "04-role-changed")
    assert off_loop(lambda: Membership.objects.get(user__email="bo@initech.test").role) == Role.MANAGER
    invitee.reload()
    expect(invitee.locator(".account")).to_contain_text("bo@initech.test · Manager")
    # and the colleague, still only a manager, sees no member controls
    invitee.goto(url("initech.localhost", "/members/"))
    expect(invitee.locator("text=Send invitation")).to_have_count(0)
