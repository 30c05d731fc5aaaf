from accounts.permissions import can


def workspace(request):
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    role = membership.role if membership else None

    def allowed(action: str) -> bool:
        return can(role, action)

    return {
        "workspace": tenant if tenant is not None and not tenant.is_public else None,
        "membership": membership if membership else None,
        # {{ can.audit_view }}: the matrix's actions, with "_" for "." (template lookups)
        "can": {a.replace(".", "_"): allowed(a) for a in ("members.invite", "keys.manage", "audit.view", "usage.view",
                                                          "branding.manage")},
    }
