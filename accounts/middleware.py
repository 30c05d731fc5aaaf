from django.utils.functional import SimpleLazyObject

from accounts.selectors import membership_for


class MembershipMiddleware:
    """request.membership: the signed-in user's membership in this host's workspace.

    Lazy, so API requests that never touch it cost no query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        request.membership = SimpleLazyObject(
            lambda: membership_for(user=getattr(request, "user", None), workspace=tenant)
            if tenant is not None and not tenant.is_public
            else None
        )
        return self.get_response(request)
