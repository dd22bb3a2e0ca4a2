"""Desk users: a sign-in name, a hashed password (Django's PBKDF2), a role and a language."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from intake.errors import ReviewError
from intake.store.models import DeskUser

ADVISOR = "advisor"
ADMINISTRATOR = "administrator"


@transaction.atomic
def add_user(name: str, password: str, /, *, role: str, language: str) -> User:
    """Create the user, or set an existing one's password, role and language."""
    if role not in (ADVISOR, ADMINISTRATOR):
        raise ReviewError(f"unknown role {role!r} (advisor or administrator)")
    user = User.objects.filter(username=name).first() or User(username=name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ReviewError("password not accepted: " + " ".join(exc.messages)) from exc
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get_or_create(name=role)[0]])
    DeskUser.objects.update_or_create(user=user, defaults={"language": language})
    return user


def is_administrator(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.groups.filter(name=ADMINISTRATOR).exists()  # type: ignore[attr-defined]


def is_advisor(user: object) -> bool:
    """Both roles work at the desk; administrators also see the rules and the audit."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and user.groups.filter(  # type: ignore[attr-defined]
            name__in=(ADVISOR, ADMINISTRATOR)
        ).exists()
    )
