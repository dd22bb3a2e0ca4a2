"""Filters for the desk's templates: states, actions and reasons in words; confidences; field labels."""

from __future__ import annotations

from django import template

from intake.desk import words
from intake.store.reasons import Reason

register = template.Library()


@register.filter
def state_name(state: str) -> str:
    return str(words.STATES.get(state, state))


@register.filter
def action_name(action: str) -> str:
    return str(words.ACTIONS.get(action, action))


@register.filter
def say(reason: Reason) -> str:
    return words.say(reason)


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


@register.filter
def field_label(name: str, form_id: str | None) -> str:
    """The label printed on the form beside the box (what the advisor sees on paper), else the name."""
    from intake.desk.views import desk

    found = desk().template(form_id)
    zone = next((z for z in found.zones if z.name == name), None) if found else None
    return zone.label if zone is not None and zone.label else name.replace("_", " ")
