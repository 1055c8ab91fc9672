"""Configuration read from environment variables, with defaults that run out of the box.

Every setting is documented in README.md and `.env.example`. A setting that is required but
missing, or that cannot be parsed, stops start-up with a ``ConfigError`` that names it and
says how to set it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits
from cryptography.fernet import Fernet


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value}.")
    return value


def _list(env: Mapping[str, str], name: str) -> list[str]:
    raw = env.get(name) or ""
    return [part.strip().lower() for part in raw.split(",") if part.strip()]


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    value = _str(env, name, default) or default
    try:
        limits.parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name} must be a rate such as '1200 per minute' or '20/second', got {value!r}."
        ) from None
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (_str(env, name, default) or default).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def _http_url(env: Mapping[str, str], name: str, default: str | None, example: str) -> str | None:
    """An absolute http(s) URL with a host, without a trailing slash."""
    value = _str(env, name, default)
    if value is None:
        return None
    if not _is_http_url(value):
        raise ConfigError(f"{name} must be an http(s) URL such as {example}, got {value!r}.")
    return value.rstrip("/")


def _is_http_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL with a host (and a numeric port, if any)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() for c in value)
    )


# The names a request may use when PUBLIC_BASE_URL is not set (the quick start's addresses).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
OIDC_CLIENT = ("ADMIN_OIDC_CLIENT_ID", "ADMIN_OIDC_CLIENT_SECRET")
OIDC_ALLOWED = ("ADMIN_OIDC_ALLOWED_EMAILS", "ADMIN_OIDC_ALLOWED_GROUPS")


def _admin_oidc(env: Mapping[str, str]) -> dict[str, Any]:
    """Okta sign-in for admins: all of issuer, client and who is allowed, or none of them.

    :raises ConfigError: a partial configuration, which would fail only when someone signs in.
    """
    settings: dict[str, Any] = {
        "ADMIN_OIDC_ISSUER": _http_url(env, "ADMIN_OIDC_ISSUER", None, "https://acme.okta.com"),
        **{name: _str(env, name) for name in OIDC_CLIENT},
        **{name: _list(env, name) for name in OIDC_ALLOWED},
    }
    if not settings["ADMIN_OIDC_ISSUER"]:
        stray = [name for name in (*OIDC_CLIENT, *OIDC_ALLOWED) if settings[name]]
        if stray:
            raise ConfigError(
                f"{stray[0]} is set but ADMIN_OIDC_ISSUER is not. For admin sign-in with Okta, "
                "set ADMIN_OIDC_ISSUER to your Okta org (e.g. https://acme.okta.com); "
                "otherwise unset the ADMIN_OIDC_* settings."
            )
        return settings
    missing = [name for name in OIDC_CLIENT if not settings[name]]
    if missing:
        raise ConfigError(
            f"ADMIN_OIDC_ISSUER is set but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: set ADMIN_OIDC_CLIENT_ID and "
            "ADMIN_OIDC_CLIENT_SECRET to the client id and secret of the Okta OIDC web app "
            "for this admin console."
        )
    if not any(settings[name] for name in OIDC_ALLOWED):
        raise ConfigError(
            "ADMIN_OIDC_ISSUER is set but nobody may sign in with Okta: set "
            "ADMIN_OIDC_ALLOWED_EMAILS (comma-separated emails) and/or ADMIN_OIDC_ALLOWED_GROUPS "
            "(Okta group names in the groups claim)."
        )
    return settings


def _generated_secret(instance_path: Path, filename: str, make: Any) -> str:
    """Read a secret kept under ``instance/``, creating it (mode 0600) on first use."""
    path = instance_path / filename
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = str(make())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def load_config(instance_path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment.

    :raises ConfigError: when a required setting is missing or a value is invalid.
    """
    env = os.environ if env is None else env
    database_url = _str(env, "DATABASE_URL") or f"sqlite:///{instance_path / 'scim_onboard.db'}"
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
        raise ConfigError(
            "DATABASE_URL must start with sqlite:/// or postgresql://, "
            f"got {database_url.split('://')[0]!r}."
        )
    embedded = database_url.startswith("sqlite")

    secret_key = _str(env, "SECRET_KEY")
    encryption_keys = _str(env, "ENCRYPTION_KEYS")
    if embedded:
        # One-command quick start: generate the secrets once and keep them under instance/.
        secret_key = secret_key or _generated_secret(
            instance_path, "secret_key", lambda: secrets.token_urlsafe(48)
        )
        encryption_keys = encryption_keys or _generated_secret(
            instance_path, "encryption_key", lambda: Fernet.generate_key().decode()
        )
    else:
        # Several instances share one Postgres: each must hold the same secrets, so they
        # cannot be generated per host.
        if not secret_key:
            raise ConfigError(
                "SECRET_KEY is not set. It signs admin sessions and must be the same on every "
                "instance. Set it to a long random string, e.g. "
                "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not encryption_keys:
            raise ConfigError(
                "ENCRYPTION_KEYS is not set. It encrypts Okta credentials at rest and must be the "
                "same on every instance. Set it to a Fernet key, e.g. ENCRYPTION_KEYS=$(python3 -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
    keys = [k.strip() for k in (encryption_keys or "").split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                "ENCRYPTION_KEYS must be a comma-separated list of Fernet keys (32 url-safe "
                "base64-encoded bytes each); the first one encrypts, all of them decrypt."
            ) from None

    public_base_url = _str(env, "PUBLIC_BASE_URL")
    if public_base_url and not public_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"PUBLIC_BASE_URL must be an absolute http(s) origin such as https://scim.example.com, "
            f"got {public_base_url!r}."
        )

    return {
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": keys,
        "DATABASE_URL": database_url,
        "DB_POOL_SIZE": _int(env, "DB_POOL_SIZE", 10, minimum=1),
        "DB_POOL_TIMEOUT": _int(env, "DB_POOL_TIMEOUT", 10, minimum=1),
        "PUBLIC_BASE_URL": public_base_url.rstrip("/") if public_base_url else None,
        # Without PUBLIC_BASE_URL, links take their origin from the request: only these Host
        # names are then answered, so no request can point an emailed link elsewhere.
        "TRUSTED_HOSTS": None
        if public_base_url
        else _list(env, "TRUSTED_HOSTS") or list(LOOPBACK_HOSTS),
        "MAX_CONTENT_LENGTH": _int(env, "SCIM_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024),
        "SCIM_DEFAULT_COUNT": _int(env, "SCIM_DEFAULT_COUNT", 100, minimum=1),
        "SCIM_MAX_COUNT": _int(env, "SCIM_MAX_COUNT", 1000, minimum=1),
        # Unknown attributes and extension objects kept per User or Group, as JSON bytes.
        "SCIM_MAX_RESOURCE_BYTES": _int(env, "SCIM_MAX_RESOURCE_BYTES", 65536, minimum=1024),
        # A list or search page stops early (itemsPerPage says so) past this many JSON bytes.
        "SCIM_MAX_PAGE_BYTES": _int(env, "SCIM_MAX_PAGE_BYTES", 8 * 1024 * 1024, minimum=1024),
        # One SCIM statement (or one SCIM write transaction on SQLite) may run this long.
        "SCIM_QUERY_TIMEOUT_MS": _int(env, "SCIM_QUERY_TIMEOUT_MS", 5000, minimum=1),
        # How long a process remembers a token that authenticated (0: never).
        "SCIM_TOKEN_CACHE_SECONDS": _int(env, "SCIM_TOKEN_CACHE_SECONDS", 5, minimum=0),
        "LOG_LEVEL": (_str(env, "LOG_LEVEL", "INFO") or "INFO").upper(),
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", ("text", "json"), "text"),
        # /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset: disabled.
        "METRICS_TOKEN": _str(env, "METRICS_TOKEN"),
        # How many reverse proxies in front may set X-Forwarded-For/-Proto/-Host/-Port.
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", 0, minimum=0),
        # Per SCIM token; Okta honours 429 + Retry-After (docs/okta.md §1.9).
        "SCIM_RATE_LIMIT": _rate(env, "SCIM_RATE_LIMIT", "1200 per minute"),
        # Failed SCIM authentications per client address.
        "SCIM_AUTH_FAILURE_LIMIT": _rate(env, "SCIM_AUTH_FAILURE_LIMIT", "30 per minute"),
        "ADMIN_SIGN_IN_LIMIT": _rate(env, "ADMIN_SIGN_IN_LIMIT", "10 per 15 minutes"),
        "RUN_WORKER_IN_PROCESS": _bool(env, "RUN_WORKER_IN_PROCESS", False),
        "WORKER_POLL_SECONDS": _float(env, "WORKER_POLL_SECONDS", 0.5),
        "WORKER_THREADS": _int(env, "WORKER_THREADS", 8, minimum=1),
        # A worker that dies holds its claimed work this long before another takes it over.
        "WORKER_LEASE_SECONDS": _int(env, "WORKER_LEASE_SECONDS", 120, minimum=1),
        # An email whose sender died mid-send waits this long for the provider to vouch for it.
        "MAIL_IN_DOUBT_GRACE_SECONDS": _int(env, "MAIL_IN_DOUBT_GRACE_SECONDS", 600, minimum=1),
        # The admin console's "stuck" list: invited this many days ago and not enrolled.
        "STUCK_AFTER_DAYS": _int(env, "STUCK_AFTER_DAYS", 3, minimum=1),
        "ENROLLMENT_TOKEN_TTL_HOURS": _int(env, "ENROLLMENT_TOKEN_TTL_HOURS", 168, minimum=1),
        "HOOK_SECRET_GRACE_HOURS": _int(env, "HOOK_SECRET_GRACE_HOURS", 24, minimum=0),
        "OKTA_ALLOWED_HOSTS": _list(env, "OKTA_ALLOWED_HOSTS"),
        "OKTA_CA_BUNDLE": _str(env, "OKTA_CA_BUNDLE"),
        "OKTA_TIMEOUT_SECONDS": _float(env, "OKTA_TIMEOUT_SECONDS", 10.0),
        # Okta's clock against ours: an event this much older than our own SCIM write of the
        # same status still applies when it takes access away (fail closed).
        "OKTA_CLOCK_SKEW_SECONDS": _int(env, "OKTA_CLOCK_SKEW_SECONDS", 5, minimum=0),
        # Compare the passwordless group with our desired members this often (0: never);
        # "report" only shows the drift, "fix" also removes strays and re-adds the missing.
        "OKTA_RECONCILE_MINUTES": _int(env, "OKTA_RECONCILE_MINUTES", 60, minimum=0),
        "OKTA_RECONCILE_MODE": _choice(env, "OKTA_RECONCILE_MODE", ("fix", "report"), "fix"),
        # Check each Okta credential this often (0: never): Okta revokes an API token after
        # 30 days unused, and a failed check marks the integration unhealthy at once.
        "OKTA_HEALTH_CHECK_HOURS": _int(env, "OKTA_HEALTH_CHECK_HOURS", 24, minimum=0),
        # Read missed events from Okta's System Log this often (0: never), looking back at most
        # OKTA_BACKFILL_LOOKBACK_HOURS past the newest event already stored.
        "OKTA_BACKFILL_MINUTES": _int(env, "OKTA_BACKFILL_MINUTES", 5, minimum=0),
        "OKTA_BACKFILL_LOOKBACK_HOURS": _int(env, "OKTA_BACKFILL_LOOKBACK_HOURS", 24, minimum=1),
        # An event for a user we do not have yet waits this long for the SCIM create.
        "OKTA_PENDING_EVENT_HOURS": _int(env, "OKTA_PENDING_EVENT_HOURS", 24, minimum=0),
        "MAIL_FROM_EMAIL": _str(env, "MAIL_FROM_EMAIL", "onboarding@example.com"),
        "MAIL_FROM_NAME": _str(env, "MAIL_FROM_NAME", "IT Onboarding"),
        "MAIL_PRODUCT_NAME": _str(env, "MAIL_PRODUCT_NAME"),
        "SENDGRID_API_KEY": _str(env, "SENDGRID_API_KEY"),
        "SENDGRID_BASE_URL": _http_url(
            env, "SENDGRID_BASE_URL", "https://api.sendgrid.com", "https://api.sendgrid.com"
        ),
        "SENDGRID_TIMEOUT_SECONDS": _float(env, "SENDGRID_TIMEOUT_SECONDS", 10.0),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": _str(env, "SENDGRID_WEBHOOK_PUBLIC_KEY"),
        "SENDGRID_WEBHOOK_MAX_AGE_SECONDS": _int(
            env, "SENDGRID_WEBHOOK_MAX_AGE_SECONDS", 600, minimum=1
        ),
        "APP_STORE_URL": _str(env, "APP_STORE_URL", "https://apps.apple.com/app/id0000000000"),
        "PLAY_STORE_URL": _str(
            env, "PLAY_STORE_URL", "https://play.google.com/store/apps/details?id=com.example.app"
        ),
        "APP_DEEP_LINK_SCHEME": _str(env, "APP_DEEP_LINK_SCHEME", "authenticator"),
        "RATELIMIT_STORAGE_URI": _str(env, "RATELIMIT_STORAGE_URI", "memory://"),
        "ADMIN_SESSION_HOURS": _int(env, "ADMIN_SESSION_HOURS", 12, minimum=1),
        "ADMIN_IDLE_MINUTES": _int(env, "ADMIN_IDLE_MINUTES", 60, minimum=1),
        **_admin_oidc(env),
        # flask-smorest: the OpenAPI description is served at /api/openapi.json.
        "API_TITLE": "SCIM Onboard",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
