"""Admin forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class SignInForm(FlaskForm):
    """Email and password."""

    email = StringField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class SetupForm(FlaskForm):
    """The first admin account."""

    email = StringField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField(
        "Password (at least 12 characters)", validators=[DataRequired(), Length(min=12, max=1024)]
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class PasswordChangeForm(FlaskForm):
    """Your own new password, confirmed by the current one."""

    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(
        "New password (at least 12 characters)",
        validators=[DataRequired(), Length(min=12, max=1024)],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )


class NewAdminForm(FlaskForm):
    """Another admin: their email and a first password to give them."""

    email = StringField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField(
        "Password (at least 12 characters)", validators=[DataRequired(), Length(min=12, max=1024)]
    )


class DeleteIntegrationForm(FlaskForm):
    """Deleting an integration: its name, typed again, confirms it."""

    name = StringField("Type the integration's name to confirm", validators=[DataRequired()])
