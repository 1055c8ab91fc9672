"""The application factory: ``create_app`` reads as the table of contents of the service."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, request

import database
from config import load_config
from extensions import api, csrf, limiter


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. ``config`` overrides settings read from the environment."""
    overrides = dict(config or {})
    instance_path = overrides.pop("INSTANCE_PATH", None)
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    # String overrides are read as if they came from the environment (so they are validated
    # the same way); every override then wins over the computed config.
    env = {**os.environ, **{k: v for k, v in overrides.items() if isinstance(v, str)}}
    app.config.update(load_config(Path(app.instance_path), env))
    app.config.update({k: v for k, v in overrides.items() if not isinstance(v, str)})

    register_logging(app)
    database.init_app(app)
    register_extensions(app)
    register_request_context(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    register_worker(app)
    announce_setup_link(app)
    return app


def register_logging(app: Flask) -> None:
    """Log to stderr at LOG_LEVEL, with tokens in URLs redacted."""
    import logs

    logs.configure(app.config["LOG_LEVEL"])


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances, and choose the mailer."""
    import security
    from services.mailer_factory import mailer_from_config

    api.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # One OAuth registry per app (it caches its clients): admin sign-in with Okta, if set up.
    oauth = OAuth(app)
    if app.config.get("ADMIN_OIDC_ISSUER"):
        oauth.register(
            "okta",
            client_id=app.config["ADMIN_OIDC_CLIENT_ID"],
            client_secret=app.config["ADMIN_OIDC_CLIENT_SECRET"],
            server_metadata_url=app.config["ADMIN_OIDC_ISSUER"].rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile groups"},
        )
    app.extensions["mailer"] = app.config.get("MAILER") or mailer_from_config(app.config)


def register_request_context(app: Flask) -> None:
    """Tell the services which public origin the current request came to."""
    from services.settings import request_origin

    @app.before_request
    def _origin() -> None:
        request_origin.set(app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/"))


def register_blueprints(app: Flask) -> None:
    """Mount every HTTP surface."""
    from blueprints.admin import bp as admin_bp
    from blueprints.enroll import bp as enroll_bp
    from blueprints.enrollment_api import blp as enrollment_blp
    from blueprints.health import bp as health_bp
    from blueprints.okta_hooks import bp as okta_hooks_bp
    from blueprints.scim import blp as scim_blp
    from blueprints.scim.docs import register_components
    from blueprints.sendgrid_hooks import bp as sendgrid_hooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(okta_hooks_bp)
    app.register_blueprint(sendgrid_hooks_bp)
    app.register_blueprint(enroll_bp)
    app.register_blueprint(admin_bp)
    api.register_blueprint(scim_blp)
    api.register_blueprint(enrollment_blp)
    register_components(api.spec)
    # Machines authenticate with tokens, secrets and signatures, not cookies: no CSRF there.
    for machine_facing in (scim_blp, enrollment_blp, okta_hooks_bp, sendgrid_hooks_bp):
        csrf.exempt(machine_facing)


def register_error_handlers(app: Flask) -> None:
    """One place decides the error format for requests that reach no blueprint."""
    from blueprints.errors import register

    register(app)


def register_cli(app: Flask) -> None:
    """Add the ``flask --app app ...`` commands."""
    from cli import register

    register(app)


def register_worker(app: Flask) -> None:
    """Small installs: run the background worker as a thread of the web process."""
    if app.config["RUN_WORKER_IN_PROCESS"] and not app.config.get("TESTING"):
        from worker import start_in_process_worker

        app.extensions["worker"] = start_in_process_worker(app)


def announce_setup_link(app: Flask) -> None:
    """First run: with no admin yet, print the one-time link that creates the first one."""
    if app.config.get("TESTING"):
        return
    from peewee import PeeweeException

    from services.admins import ensure_setup_token

    try:
        with app.app_context():
            token = ensure_setup_token()
    except PeeweeException:
        # Not migrated yet (or the database is down): the link is printed on a later start.
        return
    if token:
        base = app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
        print(
            "\n  No admin account exists yet. Create the first one here (this link works once):"
            f"\n\n      {base}/admin/setup/{token}\n",
            file=sys.stderr,
            flush=True,
        )
