"""Forms of the integration pages: name, SCIM token, Okta API settings, branding."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import Integration
from services.email.branding import load_branding
from services.errors import ValidationError

# The service's messages start with the setting they are about (services/okta/org_settings.py).
_OKTA_ERROR_PREFIXES = {
    "Okta org URL: ": "org_url",
    "passwordless group: ": "group",
    "Okta app: ": "app_id",
}


class WriteOnlyTextAreaField(TextAreaField):
    """A text area that never renders what was typed into it (a pasted private key)."""

    def _value(self) -> str:
        return ""


class IntegrationNameForm(FlaskForm):
    """An integration's name (creating and renaming)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])


class TokenForm(FlaskForm):
    """A new SCIM token's label."""

    label = StringField("Label", validators=[Optional(), Length(max=200)])


class OktaSettingsForm(FlaskForm):
    """Org URL, passwordless group and the API credential (write-only)."""

    org_url = StringField("Okta org URL", validators=[Length(max=300)])
    group = StringField("Passwordless group", validators=[Length(max=2000)])
    app_id = StringField("Okta app", validators=[Length(max=2000)])
    auth = RadioField(
        "Credential",
        choices=[
            SelectChoice("oauth", "API Services app (OAuth 2.0, private_key_jwt)"),
            SelectChoice("ssws", "API token (SSWS)"),
        ],
        default="oauth",
    )
    api_token = PasswordField("API token", validators=[Length(max=1000)])
    client_id = StringField("Client ID", validators=[Length(max=200)])
    key_id = StringField("Key ID (kid)", validators=[Length(max=200)])
    private_key = WriteOnlyTextAreaField("Private key (PEM)", validators=[Length(max=20000)])

    @classmethod
    def for_integration(cls, integration: Integration) -> OktaSettingsForm:
        """The form filled with the stored settings (never the credential)."""
        return cls(
            formdata=None,
            data={
                "org_url": integration.okta_org_url or "",
                "group": integration.group_id or "",
                "app_id": integration.okta_app_id or "",
                "auth": integration.okta_auth or "oauth",
                "client_id": integration.okta_client_id or "",
                "key_id": integration.okta_key_id or "",
            },
        )

    def changes(self, integration: Integration) -> dict[str, str | None] | None:
        """Keyword arguments for ``configure_okta``, or None with the problems on the fields."""
        # An empty credential field keeps the stored credential (it is write-only).
        kwargs: dict[str, str | None] = {
            "org_url": _entered(self.org_url.data, integration.okta_org_url),
            "group": _entered(self.group.data, integration.group_id),
            "app_id": _entered(self.app_id.data, integration.okta_app_id),
        }
        stored = integration.okta_auth if integration.okta_secret else None
        if self.auth.data == "ssws":
            token = (self.api_token.data or "").strip()
            if token:
                kwargs["api_token"] = token
            elif stored == "oauth":
                self.api_token.errors = ["Paste an API token to switch to API-token access."]
                return None
            return kwargs
        client_id = (self.client_id.data or "").strip()
        key_id = (self.key_id.data or "").strip()
        if self.private_key.data and self.private_key.data.strip():
            if not client_id:
                self.client_id.errors = ["Enter the service app's client ID."]
                return None
            kwargs.update(client_id=client_id, private_key=self.private_key.data, key_id=key_id)
        elif stored == "ssws":
            self.private_key.errors = ["Paste the private key to switch to the service app."]
            return None
        elif stored == "oauth" and (
            client_id != (integration.okta_client_id or "")
            or key_id != (integration.okta_key_id or "")
        ):
            self.private_key.errors = [
                "Paste the private key again to change the client ID or key ID."
            ]
            return None
        elif stored is None and client_id:
            self.private_key.errors = ["Paste the service app's private key."]
            return None
        return kwargs

    def add_service_error(self, message: str) -> None:
        """Show a ``ValidationError`` from ``configure_okta`` next to the field it is about."""
        for prefix, name in _OKTA_ERROR_PREFIXES.items():
            if message.startswith(prefix):
                self[name].errors = [message.removeprefix(prefix)]
                return
        field = self.api_token if self.auth.data == "ssws" else self.private_key
        field.errors = [message]


def _entered(value: str | None, stored: str | None) -> str | None:
    """What to pass for a setting: None leaves an unset one unset; a cleared one is checked."""
    text = (value or "").strip()
    if not text and not stored:
        return None
    return text


class BrandingForm(FlaskForm):
    """Every field of ``services.email.branding.load_branding``; an empty field uses the default."""

    product_name = StringField("Product name", validators=[Length(max=1000)])
    company_name = StringField("Company name", validators=[Length(max=1000)])
    logo_url = URLField("Logo URL (https)", validators=[Length(max=3000)])
    brand_color = StringField("Brand colour", validators=[Length(max=100)])
    sender_name = StringField("Sender name", validators=[Length(max=1000)])
    sender_email = EmailField("Sender email", validators=[Length(max=1000)])
    reply_to = EmailField("Reply-to email", validators=[Length(max=1000)])
    support_email = EmailField("Support email", validators=[Length(max=1000)])
    intro = TextAreaField("Introduction paragraph (English)", validators=[Length(max=5000)])
    intro_de = TextAreaField("Introduction paragraph (Deutsch)", validators=[Length(max=5000)])
    intro_fr = TextAreaField("Introduction paragraph (Français)", validators=[Length(max=5000)])
    app_store_url = URLField("App Store URL (https)", validators=[Length(max=3000)])
    play_store_url = URLField("Google Play URL (https)", validators=[Length(max=3000)])
    deep_link_scheme = StringField("App deep-link scheme", validators=[Length(max=1000)])
    sendgrid_template_id = StringField("SendGrid dynamic template ID", validators=[Length(max=100)])

    def branding_fields(self) -> list[Field]:
        """The branding fields, in order (no CSRF token)."""
        return [field for field in self if field.name != "csrf_token"]

    def branding_data(self) -> dict[str, Any]:
        """The submitted values by branding field name."""
        return {field.name: field.data for field in self.branding_fields()}

    def load(self) -> dict[str, Any] | None:
        """The validated branding, or None with each problem shown next to its field."""
        try:
            return load_branding(self.branding_data())
        except ValidationError as exc:
            problem = str(exc)
        for field in self.branding_fields():
            try:
                load_branding({field.name: field.data})
            except ValidationError as exc:
                field.errors = [str(exc).removeprefix(f"branding field {field.name!r}: ")]
        if not self.errors:
            self.form_errors.append(problem)
        return None
