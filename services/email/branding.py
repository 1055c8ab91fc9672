"""Per-integration branding of the welcome email and the landing page: fields, checks, defaults.

``Integration.branding`` holds only what an admin set (validated by ``load_branding``);
``effective_branding`` lays it over the configured defaults.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import marshmallow as ma
from marshmallow import fields, validate

from models import Integration
from services.email.i18n import translate
from services.errors import ValidationError
from services.platform.settings import setting

log = logging.getLogger(__name__)

DEFAULT_BRAND_COLOR: Final = "#1d4ed8"  # 6.7:1 against white (WCAG AA for text and buttons)
# Schemes a deep link must never use: the web's own (the link would not open the app) and
# the ones a browser runs or reads locally.
FORBIDDEN_SCHEMES: Final = frozenset(
    {"http", "https", "javascript", "vbscript", "data", "file", "blob", "about"}
)

# The store links config.py ships with: they open no real app.
PLACEHOLDER_STORE_LINKS: Final = (
    "https://apps.apple.com/app/id0000000000",
    "https://play.google.com/store/apps/details?id=com.example.app",
)

_COLOR = re.compile(r"\A#(?:[0-9a-f]{3}|[0-9a-f]{6})\Z", re.IGNORECASE)
# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*", re.IGNORECASE)
_TEMPLATE_ID = re.compile(r"\Ad-[0-9a-f]{32}\Z", re.IGNORECASE)
# Control characters: in a name they could break a mail header; tab and newline are fine in
# the intro paragraph only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: str) -> None:
    if _CONTROL.search(value):
        raise ma.ValidationError("must be a single line of plain text")


def _plain_paragraphs(value: str) -> None:
    if _CONTROL_EXCEPT_NEWLINES.search(value):
        raise ma.ValidationError("must be plain text")


def _scheme(value: str) -> None:
    if not _SCHEME.fullmatch(value):
        raise ma.ValidationError(
            "must be a URI scheme (a letter, then letters, digits, '+', '-' or '.'), without '://'"
        )
    if value.lower() in FORBIDDEN_SCHEMES:
        raise ma.ValidationError(f"must be the app's own scheme, not {value.lower()!r}")


def _text(max_length: int) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), _no_control_characters],
    )


def _https_url() -> fields.String:
    return fields.String(
        validate=[
            validate.Length(max=2000),
            validate.URL(schemes={"https"}, error="must be an https:// URL"),
        ]
    )


def _intro() -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=1000), _plain_paragraphs])


def _email() -> fields.Email:
    return fields.Email(
        validate=validate.Length(max=254), error_messages={"invalid": "must be an email address"}
    )


class BrandingSchema(ma.Schema):
    """The branding an admin may set on an integration; every field is optional."""

    class Meta:
        unknown = ma.RAISE

    product_name = _text(100)
    company_name = _text(100)
    logo_url = _https_url()
    brand_color = fields.String(
        validate=validate.Regexp(_COLOR, error="must be a colour like #1d4ed8 or #15d")
    )
    sender_name = _text(100)
    sender_email = _email()
    reply_to = _email()
    support_email = _email()
    intro = _intro()
    # The intro in the other languages (services.email.i18n.LANGUAGES); missing ones use ``intro``.
    intro_de = _intro()
    intro_fr = _intro()
    app_store_url = _https_url()
    play_store_url = _https_url()
    deep_link_scheme = fields.String(validate=[validate.Length(max=64), _scheme])
    sendgrid_template_id = fields.String(
        validate=validate.Regexp(
            _TEMPLATE_ID, error="must be a SendGrid dynamic template id: d- and 32 hex digits"
        )
    )

    @ma.pre_load
    def _blank_means_unset(self, data: Any, **_: Any) -> Any:
        """Trim text; an empty or null field is simply not set."""
        if not isinstance(data, Mapping):
            return data
        cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in cleaned.items() if v not in ("", None)}


FIELDS: Final = tuple(BrandingSchema().fields)
# Languages with an intro field of their own (English is ``intro``).
TRANSLATED_INTROS: Final = tuple(
    name.removeprefix("intro_") for name in FIELDS if name.startswith("intro_")
)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Lower-case what is case-insensitive; expand #rgb (older Outlook ignores it)."""
    out = dict(data)
    color = out.get("brand_color")
    if color:
        color = color.lower()
        if len(color) == 4:
            color = "#" + "".join(c * 2 for c in color[1:])
        out["brand_color"] = color
    for name in ("deep_link_scheme", "sendgrid_template_id"):
        if out.get(name):
            out[name] = out[name].lower()
    return out


def _describe(messages: Mapping[str, Any]) -> str:
    parts = []
    for name in sorted(messages):
        problems = messages[name]
        if problems == ["Unknown field."]:
            parts.append(f"unknown branding field {name!r} (known: {', '.join(FIELDS)})")
            continue
        text = "; ".join(str(p) for p in problems) if isinstance(problems, list) else problems
        parts.append(f"branding field {name!r}: {text}")
    return "; ".join(parts)


def load_branding(data: Any) -> dict[str, Any]:
    """Validate and normalise branding as an admin submits it; only set fields are kept.

    :raises ValidationError: naming each field that is wrong and what it must be.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("branding must be a JSON object")
    try:
        loaded: dict[str, Any] = BrandingSchema().load(data)
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"branding": err.messages}
        raise ValidationError(_describe(messages)) from None
    return _normalise(loaded)


def _stored(integration: Integration) -> dict[str, Any]:
    """The integration's stored branding, without any field that does not validate.

    A row written around ``load_branding`` must not put a ``javascript:`` link or a broken
    header into an email: bad fields fall back to the defaults, and the log says which.
    """
    raw = integration.branding or {}
    if not isinstance(raw, Mapping):
        log.warning("integration %s: branding is not an object; using defaults", integration.id)
        return {}
    try:
        loaded: dict[str, Any] = BrandingSchema(unknown=ma.EXCLUDE).load(raw)
    except ma.ValidationError as err:
        log.warning(
            "integration %s: ignoring invalid branding fields %s",
            integration.id,
            ", ".join(sorted(err.messages)) if isinstance(err.messages, dict) else "?",
        )
        loaded = dict(err.valid_data or {})
    return _normalise(loaded)


def _luminance(color: str) -> float:
    """WCAG 2.x relative luminance of a #rrggbb colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def darker(color: str, factor: float = 0.7) -> str:
    """A #rrggbb colour darkened towards black (for hover states)."""
    channels = [round(int(color[i : i + 2], 16) * factor) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class Branding:
    """The branding in effect for one integration: its own fields over the configured defaults."""

    # None: no product name was configured; say "the authenticator app" in the reader's language.
    product_name: str | None
    company_name: str | None
    logo_url: str | None
    brand_color: str
    sender_name: str | None
    sender_email: str
    reply_to: str | None
    support_email: str | None
    # English (and any language without its own); other languages by code.
    intro: str | None
    app_store_url: str
    play_store_url: str
    deep_link_scheme: str
    sendgrid_template_id: str | None
    translated_intros: Mapping[str, str] = field(default_factory=dict)

    def intro_for(self, language: str) -> str | None:
        """The intro paragraph(s) in ``language``, falling back to the English one."""
        return self.translated_intros.get(language) or self.intro

    def product(self, language: str) -> str:
        """The product's name as a reader of ``language`` sees it."""
        return self.product_name or translate(language, "product_generic")

    def heading(self, language: str) -> str:
        """The name a page or email is headed with when no logo shows: the product's, else
        the company's ("the authenticator app" is no letterhead)."""
        return self.product_name or self.company_name or translate(language, "product_heading")

    @property
    def support_contact(self) -> str | None:
        """Where users are told to ask for help: the support address, else the reply-to."""
        return self.support_email or self.reply_to

    @property
    def on_brand_color(self) -> str:
        """Text colour for a brand-coloured button: white or near-black, whichever reads."""
        return self.text_on(self.brand_color)

    @staticmethod
    def text_on(color: str) -> str:
        """White or near-black, whichever reads better on ``color``."""
        white, ink = "#ffffff", "#111111"
        if contrast(color, white) >= contrast(color, ink):
            return white
        return ink

    @staticmethod
    def readable_on_white(color: str) -> str:
        """``color`` when text in it reads on white (4.5:1), else the default brand colour."""
        return color if contrast(color, "#ffffff") >= 4.5 else DEFAULT_BRAND_COLOR

    @property
    def placeholder_store_links(self) -> list[str]:
        """Which store links are still the shipped placeholders ("App Store", "Google Play")."""
        stores = (("App Store", self.app_store_url), ("Google Play", self.play_store_url))
        return [name for name, url in stores if url in PLACEHOLDER_STORE_LINKS]

    @property
    def link_color(self) -> str:
        """Colour of links on white: the brand colour when it is readable there (4.5:1)."""
        return self.readable_on_white(self.brand_color)


def effective_branding(integration: Integration | None) -> Branding:
    """The integration's branding merged over config defaults (defaults only when None)."""
    return _merged(integration, _stored(integration) if integration is not None else {})


def draft_branding(integration: Integration, data: Mapping[str, Any]) -> Branding:
    """Branding as the admin is typing it (for the live preview), not yet saved.

    Each field that does not validate yet (half a colour, half a URL) is left out, so the
    preview shows the default for it rather than nothing.
    """
    own: dict[str, Any] = {}
    for name in FIELDS:
        if name not in data:
            continue
        try:
            own.update(load_branding({name: data[name]}))
        except ValidationError:
            continue
    return _merged(integration, own)


def _merged(integration: Integration | None, own: Mapping[str, Any]) -> Branding:
    # Unset MAIL_PRODUCT_NAME: the email says "the authenticator app" in the reader's language.
    configured_product = setting("MAIL_PRODUCT_NAME")
    return Branding(
        product_name=own.get("product_name") or configured_product,
        company_name=own.get("company_name") or (integration.name if integration else None),
        logo_url=own.get("logo_url"),
        brand_color=own.get("brand_color") or DEFAULT_BRAND_COLOR,
        sender_name=own.get("sender_name") or setting("MAIL_FROM_NAME"),
        sender_email=own.get("sender_email") or setting("MAIL_FROM_EMAIL"),
        reply_to=own.get("reply_to"),
        support_email=own.get("support_email"),
        intro=own.get("intro"),
        app_store_url=own.get("app_store_url") or setting("APP_STORE_URL"),
        play_store_url=own.get("play_store_url") or setting("PLAY_STORE_URL"),
        deep_link_scheme=own.get("deep_link_scheme") or setting("APP_DEEP_LINK_SCHEME"),
        sendgrid_template_id=own.get("sendgrid_template_id"),
        translated_intros={
            code: own[f"intro_{code}"] for code in TRANSLATED_INTROS if own.get(f"intro_{code}")
        },
    )
