"""The desk's words for states, actions and reasons, in the user's language (gettext)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from intake.store.reasons import Reason

STATES = {
    "held": _("held"), "queued": _("queued"), "rejected": _("rejected"), "sending": _("sending"),
    "sent": _("sent"), "deferred": _("waiting to retry"), "failed": _("failed"),
}  # fmt: skip

ACTIONS = {
    "received": _("received"), "form": _("form confirmed"), "field": _("field typed"), "pick": _("candidate chosen"),
    "municipality": _("municipality given"), "rotate": _("page turned"), "drop": _("page removed"),
    "split": _("split"), "split-from": _("split from another document"), "merge": _("merged"),
    "merged-into": _("merged into another document"), "release": _("released"),
    "release-refused": _("release refused"), "reject": _("rejected"), "retry": _("delivery retried"),
    "purge": _("pages and readings deleted"),
}  # fmt: skip

REASONS = {
    "blank": _("Only blank pages were found."),
    "unknown-form": _("Intake did not recognise the form: choose it from the list."),
    "unsure-form": _("Intake is not sure which form this is: check and confirm the form."),
    "orientation": _("Page %(page)s may be the wrong way up: look at it and turn it if needed."),
    "first-page-missing": _("The first page of the form is missing."),
    "pages-missing": _("The form has %(expected)s pages but %(found)s were scanned."),
    "needs-field": _("Where it goes depends on the customer's %(field)s, which intake could not read: give it."),
    "no-rule": _("No rule says where this form goes: ask the administrator."),
    "not-queued": _("The package could not be made (%(detail)s): ask the administrator."),
    "doubtful-field": _("The %(field)s could not be read for certain: check it against the form."),
}

REFUSALS = {
    "not-held": _("The document is no longer held: it was released or rejected already."),
    "unknown-form": _("That is not a known form: choose one from the list."),
    "no-field": _("The form has no such field."),
    "invalid-value": _("That value does not pass the field's checks: compare it with the form."),
    "no-candidate": _("Choose one of the candidates shown."),
    "unknown-municipality": _("That is not a Finnish municipality: choose one from the list."),
    "no-page": _("The document has no such page."),
    "bad-rotation": _("Pages turn by a quarter, a half or three quarters."),
    "last-page": _("The last page cannot be removed: reject the document instead."),
    "split-range": _("A new document can start from the second page on."),
    "merge-self": _("Choose another document to merge."),
    "no-form": _("Confirm which form this is first."),
    "not-released": _("Not released: see why it is held."),
    "no-reason": _("Say why the document is rejected."),
    "not-failed": _("Only a failed delivery can be retried."),
}

FIELDS = {"municipality": _("municipality"), "postal_code": _("postal code")}


def say(reason: Reason) -> str:
    """A reason in the current language."""
    params = dict(reason.params)
    if "field" in params:
        params["field"] = str(FIELDS.get(str(params["field"]), params["field"]))
    return str(REASONS[reason.code]) % params


def refusal(code: str, fallback: str) -> str:
    """Why a desk action was refused, in the current language (the English fallback for unknown codes)."""
    return str(REFUSALS[code]) if code in REFUSALS else fallback
