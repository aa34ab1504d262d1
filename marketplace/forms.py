"""Form helpers shared by the blueprints."""

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# types-WTForms 3.2 predates SelectChoice (added in WTForms 3.3).
from wtforms import HiddenField, SelectChoice, SubmitField, TextAreaField  # type: ignore[attr-defined]
from wtforms.validators import Length

from marketplace.errors import Invalid


def optional_int(value):
    """Coerce a select's value to int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs; the empty value "" stands for "none chosen"."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def show_errors(form: FlaskForm, exc: Invalid) -> None:
    """Attach a service's field errors to the form; flash what belongs to no field."""
    unplaced = []
    for name, messages in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
        else:
            unplaced.extend(messages)
    if exc.message:
        flash(exc.message, "error")
    for message in unplaced:
        flash(message, "error")


class ConfirmForm(FlaskForm):
    """A button that only needs CSRF protection (archive, submit, withdraw …)."""

    submit = SubmitField(_l("确认"))


class DecisionForm(FlaskForm):
    """A decision on a stateful object: a reason, and the event of the button pressed.

    The buttons are the edges the reader may take now (`actions_for` in templates), each
    submitting `event=<edge name>`.
    """

    reason = TextAreaField(_l("理由"), validators=[Length(max=2000)])
    event = HiddenField()
