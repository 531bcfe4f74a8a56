"""Who may do what. Views check here on every request, objects included."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from segur_portal.enums import Role


def role_required(*roles: Role):
    """Allow the view only to signed-in users holding one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated or request.user.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return wrapped

    return decorator


def can_view_team(user) -> bool:
    return user.is_authenticated and user.role == Role.EDITEUR and user.editeur_id is not None


def can_manage_team(user) -> bool:
    return user.is_authenticated and user.is_mandataire
