"""The application factory: ``create_app`` reads as the table of contents of the service."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, request

import database
from config import load_config
from extensions import api


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
    return app


def register_logging(app: Flask) -> None:
    """Log to stderr at LOG_LEVEL."""
    logging.basicConfig(
        level=app.config["LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances, and choose the mailer."""
    from services.mailer_factory import mailer_from_config

    api.init_app(app)
    app.extensions["mailer"] = app.config.get("MAILER") or mailer_from_config(app.config)


def register_request_context(app: Flask) -> None:
    """Tell the services which public origin the current request came to."""
    from services.settings import request_origin

    @app.before_request
    def _origin() -> None:
        request_origin.set(app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/"))


def register_blueprints(app: Flask) -> None:
    """Mount every HTTP surface."""
    from blueprints.enroll import bp as enroll_bp
    from blueprints.enrollment_api import blp as enrollment_blp
    from blueprints.health import bp as health_bp
    from blueprints.okta_hooks import bp as okta_hooks_bp
    from blueprints.sendgrid_hooks import bp as sendgrid_hooks_bp
    from blueprints.scim import blp as scim_blp
    from blueprints.scim.docs import register_components

    app.register_blueprint(health_bp)
    app.register_blueprint(okta_hooks_bp)
    app.register_blueprint(sendgrid_hooks_bp)
    app.register_blueprint(enroll_bp)
    api.register_blueprint(scim_blp)
    api.register_blueprint(enrollment_blp)
    register_components(api.spec)


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
