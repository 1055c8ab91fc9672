"""What an admin pastes for Okta (an org URL, a group, an app), read into the ids and URLs the
client uses, with what to paste instead when it is not one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import Final
from urllib.parse import urlsplit

#: Domains Okta serves orgs from; an org URL must be a subdomain of one (or an allowed custom host).
OKTA_DOMAINS: Final = (
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
    "trexcloud.com",
)
_OKTA_ID: Final = re.compile(r"[A-Za-z0-9]{20}")
_GROUP_ID: Final = re.compile(r"00g[A-Za-z0-9]{17}")
_APP_ID: Final = re.compile(r"0oa[A-Za-z0-9]{17}")
_HOST_NAME: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")


# --- Parsing admin input -----------------------------------------------------------------------

_GROUP_REF_HELP: Final = (
    "Enter the group's ID (20 letters and digits starting with 00g) or paste the URL of the "
    "group's page in the Okta Admin Console (https://<org>-admin.okta.com/admin/group/00g…)."
)


def _parse_ref(text: str, kind: str, own_id: re.Pattern[str], in_url: str, hint: str) -> str:
    """The id of an Okta object of ``kind`` in its id or its Admin Console URL (the id is
    the first group of ``in_url``, searched in the URL's path)."""
    value = text.strip()
    if own_id.fullmatch(value):
        return value
    if _OKTA_ID.fullmatch(value):
        raise ValueError(f"{value} is an Okta ID, but not {kind}'s. {hint}")
    if "/" in value:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        match = re.search(in_url, parts.path)
        if match and own_id.fullmatch(match.group(1)):
            return match.group(1)
    raise ValueError(f"That is not an Okta {kind.split()[-1]}. {hint}")


def parse_group_ref(text: str) -> str:
    """The group id in an id or an Admin Console group URL.

    :raises ValueError: neither a group id nor a group URL, with what to paste instead.
    """
    return _parse_ref(
        text, "a group", _GROUP_ID, r"\A/admin/group/([A-Za-z0-9]+)(?:/.*)?\Z", _GROUP_REF_HELP
    )


_APP_REF_HELP: Final = (
    "Enter the app's ID (20 letters and digits starting with 0oa) or paste the URL of the "
    "app's page in the Okta Admin Console (https://<org>-admin.okta.com/admin/app/<name>/"
    "instance/0oa…/)."
)


def parse_app_ref(text: str) -> str:
    """The app instance id in an id or an Admin Console app URL.

    :raises ValueError: neither an app id nor an app URL, with what to paste instead.
    """
    return _parse_ref(
        text, "an app", _APP_ID, r"/admin/app/[^/]+/instance/([A-Za-z0-9]+)(?:/|$)", _APP_REF_HELP
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalize_org_url(url: str, allowed_hosts: Collection[str] = ()) -> str:
    """``https://host`` of an Okta org (admin-console URLs map to the org).

    :raises ValueError: not https, not an Okta domain nor one of ``allowed_hosts``, or has
        userinfo / an IP literal / an unexpected port.
    """
    example = "e.g. https://acme.okta.com"
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValueError(f"The Okta org URL must start with https:// ({example}).")
    if "@" in parts.netloc:
        raise ValueError(f"The Okta org URL must not contain a user name or password ({example}).")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"The Okta org URL has an invalid port ({example}).") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"The Okta org URL has no host name ({example}).")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, 443) else f"{shown_host}:{port}"
    allowed = {entry.strip().lower().rstrip("/") for entry in allowed_hosts}
    if netloc in allowed or (port in (None, 443) and f"{netloc}:443" in allowed):
        return f"https://{netloc}"
    if _is_ip(host):
        raise ValueError(f"Use the Okta org's domain name, not an IP address ({example}).")
    domain = next((d for d in OKTA_DOMAINS if host.endswith(f".{d}")), None)
    if domain is None or not _HOST_NAME.fullmatch(host):
        raise ValueError(
            f"{host} is not an Okta domain ({', '.join('*.' + d for d in OKTA_DOMAINS)}); "
            "a custom domain must first be allowed by the server's administrator."
        )
    if port not in (None, 443):
        raise ValueError(f"Okta orgs are served on the standard HTTPS port ({example}).")
    subdomain = host.removesuffix(f".{domain}")
    first, dot, rest = subdomain.partition(".")
    # The Admin Console lives at <org>-admin.okta.com; the API at <org>.okta.com.
    if first.endswith("-admin") and len(first) > len("-admin"):
        host = f"{first.removesuffix('-admin')}{dot}{rest}.{domain}"
    return f"https://{host}"
