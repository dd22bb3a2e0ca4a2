"""Security headers, session limits and the user's own language, on every request of the desk."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation

Responder = Callable[[HttpRequest], HttpResponse]

# Everything the desk loads is its own (vendored, no CDN); no inline script or style at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SIGNED_IN_AT = "intake_signed_in_at"


class SecurityHeaders:
    """A Content-Security-Policy on every response; nothing but static files may be cached."""

    def __init__(self, get_response: Responder) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # Pages and images carry personal data: never into the browser's cache or history.
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class IdleClock:
    """A request of the advisor's restarts the idle time-out; the live list asking for news does not.

    An open page is not activity: the advisor is signed out after ``[desk] session_idle_s``
    without a click, and the page then shows the sign-in page. A live request also never
    writes the session: it waits up to ``live_wait_s``, and saving the session it read at
    its start would undo what the advisor's clicks wrote there meanwhile (a message).
    """

    LIVE = frozenset({"/rows", "/status.json"})

    def __init__(self, get_response: Responder) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path not in self.LIVE:
            request.session.modified = True  # saved with a new expiry (SessionMiddleware, on the way out)
        return response


class SessionLimits:
    """Signs a user out after ``[desk] session_max_s`` however active (the idle limit is the cookie age)."""

    def __init__(self, get_response: Responder) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            limit = settings.INTAKE_CONFIG.desk.session_max_s
            if started is None or time.time() - float(started) > limit:
                logout(request)
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)


class UserLanguage:
    """The interface in the signed-in user's language; before sign-in, the browser's."""

    def __init__(self, get_response: Responder) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = None
        if request.user.is_authenticated:
            desk = getattr(request.user, "desk", None)
            language = desk.language if desk is not None else None
        if language is None:
            language = request.session.get("intake_language") or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
