"""Flask-WTF forms of the admin pages (each carries its CSRF token)."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from ..services.payload_filters import OPS


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    """Change the signed-in user's password; the accounts service checks the rules."""

    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired()])
    confirm_password = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords differ")])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A button-only form: its CSRF token is the whole point."""


class HeaderRowForm(Form):
    """One custom header row; a blank value on edit keeps the saved value."""

    name = StringField("Header name")
    value = StringField("Value")
    remove = BooleanField("Remove")


class FilterRowForm(Form):
    """One payload filter condition; the value is read as JSON when it parses."""

    path = StringField("Path")
    op = SelectField("Operator", choices=[SelectChoice(op, op) for op in OPS],
                     default="eq", validate_choice=False)
    value = StringField("Value")
    remove = BooleanField("Remove")


class EndpointForm(FlaskForm):
    """Add / edit an endpoint; the endpoint service validates every field."""

    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    url = StringField("URL")
    type = SelectField("Type", validate_choice=False)
    events = SelectMultipleField("Events", validate_choice=False)
    projects = SelectMultipleField("Project filter", validate_choice=False)
    statuses = SelectMultipleField("Status filter", validate_choice=False)
    headers = FieldList(FormField(HeaderRowForm), min_entries=1, max_entries=40)
    body_template = TextAreaField("Custom body template (optional)")
    retry_policy = RadioField("Retry policy", choices=[
        SelectChoice("standard", "Standard — 5 attempts: 1 min, 5 min, 30 min, 2 h; disabled "
                                 "after the last one fails"),
        SelectChoice("quick", "Quick — 3 attempts: 2 s, 4 s; paused after 10 consecutive "
                              "failures"),
    ], default="standard", validate_choice=False)
    payload_filter = FieldList(FormField(FilterRowForm), min_entries=0, max_entries=40)
    rate_limit = StringField("Rate limit (deliveries per second)")
    ordered = BooleanField("Ordered delivery")
    is_active = BooleanField("Active", default=True)
    discard_held = BooleanField("Discard held deliveries when resuming")
    # The buttons that re-render the form without saving; Enter in a field still saves
    # (the form template puts a Save button first).
    add_header = SubmitField("Add header")
    add_condition = SubmitField("Add condition")
    check_filter = SubmitField("Check against samples")
    apply_template = SubmitField("Apply template for type")
    preview = SubmitField("Preview with samples")
    save = SubmitField("Save")
