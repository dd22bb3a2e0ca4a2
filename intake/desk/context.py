"""What every desk page needs to know about the user: whether the administrators' pages are theirs."""

from __future__ import annotations

from django.http import HttpRequest

from intake.desk.users import is_administrator


def roles(request: HttpRequest) -> dict[str, bool]:
    return {"is_administrator": is_administrator(request.user)}
