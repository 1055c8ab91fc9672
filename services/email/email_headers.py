"""What may go into an email header: one checked recipient address, and text without controls.

Values from Okta (a user's email and names) and from admins (an integration's name, the
sender's name) end up in the recipient, the sender's name and the subject. A CR or LF there
could add a header or a recipient, and an address such as ``a@x.com, b@evil.com`` would add
a second recipient, so addresses are parsed as exactly one addr-spec and every header-bound
text is stripped of control characters.
"""

from __future__ import annotations

import re

import email_validator
from email_validator import EmailNotValidError, validate_email

# Okta's own sample users (test.user@okta.local) and some on-premises directories use .local.
# Whether such a domain takes mail is the provider's to find out, as for any other domain;
# the library documents removing a name from this list as the way to allow it.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")

# Control characters (Unicode Cc) and the separators some mail parsers take for line ends.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")


def address_problem(address: str | None) -> str | None:
    """Why ``address`` cannot be emailed (readable by an admin), or None when it can."""
    if not address:
        return "the user has no email address"
    try:
        # Syntax only: whether the domain takes mail is the provider's to find out.
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"the email address {escape_controls(address)[:200]!r} is not valid: {exc}"
    return None


def has_controls(text: str) -> bool:
    """True when ``text`` holds a control character (CR, LF, tab, NUL and the like)."""
    return _CONTROLS.search(text) is not None


def header_text(text: str | None) -> str | None:
    """``text`` for a header: runs of control characters become one space; None when empty."""
    if text is None:
        return None
    cleaned = " ".join(_CONTROLS.sub(" ", text).split())
    return cleaned or None


def escape_controls(text: str) -> str:
    """``text`` on one line: CR, LF and other controls written as escapes (``\\r``, ``\\n``)."""
    return _CONTROLS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)
