"""The application factory: ``create_app`` reads as the table of contents of the service."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, g, request

import database
from config import ConfigError, load_config
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
    register_config(app, overrides)

    register_logging(app)
    register_request_id(app)
    register_proxy(app)
    database.init_app(app)
    register_extensions(app)
    register_request_context(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    register_worker(app)
    announce_setup_link(app)
    return app


def register_config(app: Flask, overrides: dict[str, Any]) -> None:
    """Read the settings from the environment, then apply ``overrides``.

    :raises ConfigError: a setting is missing or invalid (under the ``flask`` command line,
        a ``click.ClickException`` with the same one-line message instead).
    """
    # String overrides are read as if they came from the environment (so they are validated
    # the same way); every override then wins over the computed config.
    env = {**os.environ, **{k: v for k, v in overrides.items() if isinstance(v, str)}}
    try:
        app.config.update(load_config(Path(app.instance_path), env))
    except ConfigError as exc:
        if click.get_current_context(silent=True) is None:
            raise  # gunicorn prints the message and stops
        # `flask --app app ...`: "Error: <which setting, how to set it>" and exit status 1,
        # not a traceback through Flask's app loading.
        raise click.ClickException(str(exc)) from None
    app.config.update({k: v for k, v in overrides.items() if not isinstance(v, str)})


def register_logging(app: Flask) -> None:
    """Log to stderr at LOG_LEVEL in LOG_FORMAT (text or json), with tokens redacted."""
    import logs

    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])


def register_request_id(app: Flask) -> None:
    """Give every request an id: in each of its log records and its X-Request-Id header."""
    import logs

    # Registered before any other hook, so that a request answered early (rate limit,
    # CSRF, authentication) still has its id in the log and in the response.
    @app.before_request
    def _assign() -> None:
        incoming = request.headers.get(logs.REQUEST_ID_HEADER)
        g.request_id_token = logs.request_id.set(logs.accepted_request_id(incoming))

    @app.after_request
    def _echo(response: Response) -> Response:
        response.headers[logs.REQUEST_ID_HEADER] = logs.request_id.get()
        return response

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        # A server thread serves request after request: the next one must not inherit it.
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)


def register_proxy(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, take client, scheme and host from them."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # X-Forwarded-Prefix stays ignored: the service is always mounted at the root.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0
        )


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances, and choose the mailer."""
    import security
    from services.email.mailer_factory import mailer_from_config

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
            client_kwargs={
                "scope": "openid email profile groups",
                # An issuer that never answers must not hold a web worker forever.
                "default_timeout": app.config["OKTA_TIMEOUT_SECONDS"],
            },
        )
    app.extensions["mailer"] = app.config.get("MAILER") or mailer_from_config(app.config)


def register_request_context(app: Flask) -> None:
    """Tell the services which public origin the current request came to."""
    from services.platform.settings import request_origin

    @app.before_request
    def _origin() -> None:
        request_origin.set(request.host_url.rstrip("/"))


def register_blueprints(app: Flask) -> None:
    """Mount every HTTP surface."""
    from blueprints.admin import bp as admin_bp
    from blueprints.enroll import bp as enroll_bp
    from blueprints.enrollment_api import blp as enrollment_blp
    from blueprints.health import bp as health_bp
    from blueprints.metrics import bp as metrics_bp
    from blueprints.okta_hooks import bp as okta_hooks_bp
    from blueprints.scim import blp as scim_blp
    from blueprints.scim.docs import register_components
    from blueprints.sendgrid_hooks import bp as sendgrid_hooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(okta_hooks_bp)
    app.register_blueprint(sendgrid_hooks_bp)
    app.register_blueprint(enroll_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(metrics_bp)
    api.register_blueprint(scim_blp)
    api.register_blueprint(enrollment_blp)
    register_components(api.spec)
    # Machines authenticate with tokens, secrets and signatures, not cookies: no CSRF there.
    for machine_facing in (scim_blp, enrollment_blp, okta_hooks_bp, sendgrid_hooks_bp, metrics_bp):
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
    """First run: a serving process prints the one-time link that creates the first admin.

    Every start prints the same link until it is used or expires; one-off commands
    (``flask --app app tokens list``, ...) print nothing and leave it as it is.
    """
    if app.config.get("TESTING") or not serves_http():
        return
    from peewee import PeeweeException

    from services.admin.admins import setup_link

    try:
        with app.app_context(), database.connection():
            url = setup_link()
    except PeeweeException:
        # Not migrated yet (or the database is down): the link is printed on a later start.
        return
    if url is None:
        return
    note = "No admin account exists yet. Create the first one here (this link works once):"
    # Written to the console directly, not logged: log records have tokens redacted, and this
    # one link must be readable. With JSON logs it is a JSON line too.
    if app.config.get("LOG_FORMAT") == "json":
        line = json.dumps({"level": "WARNING", "message": note, "setup_url": url})
        print(line, file=sys.stderr, flush=True)
    else:
        print(f"\n  {note}\n\n      {url}\n", file=sys.stderr, flush=True)


def serves_http() -> bool:
    """Whether this process serves the app (gunicorn, ``flask run``), not a one-off command."""
    command = click.get_current_context(silent=True)
    # gunicorn (and any WSGI server) builds the app outside a click command.
    return command is None or command.command.name == "run"


def main() -> None:
    """``scim-onboard …``: the same commands as ``flask --app app …``, for an installed package."""
    from flask.cli import FlaskGroup

    FlaskGroup(create_app=create_app, help="SCIM Onboard: SCIM 2.0 for Okta, and its admin.")()
