from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from accounts.permissions import can


def member_required(action: str = "dashboard.view"):
    """A page of the host's workspace, for its active members whose role allows `action`.

    A signed-in non-member gets 404: another workspace's pages don't exist for them.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            tenant = getattr(request, "tenant", None)
            if tenant is None or tenant.is_public:
                raise Http404
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request.membership
            if not membership:
                raise Http404
            if not membership.is_active:
                return render(request, "errors/403.html",
                              {"message": "Your membership in this workspace is suspended."}, status=403)
            if not can(membership.role, action):
                return render(request, "errors/403.html",
                              {"message": "Your role does not allow this. Ask an owner or admin."}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
