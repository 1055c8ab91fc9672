"""Command-line interface for headless set-up: ``flask --app app <group> <command>``."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

import database
from models import Integration
from services.errors import ServiceError
from services.integrations.registry import create_integration, get_integration
from services.integrations.scim_tokens import create_token, list_tokens, revoke_token
from services.platform import audit

db_cli = AppGroup("db", help="Database schema migrations.")
integrations_cli = AppGroup("integrations", help="Integrations (one per Okta org).")
tokens_cli = AppGroup("tokens", help="SCIM bearer tokens.")
admins_cli = AppGroup("admins", help="Admin accounts for the admin pages.")


@contextlib.contextmanager
def reported_as_cli_error() -> Iterator[None]:
    """A service's refusal becomes a one-line error and exit status 1, not a traceback."""
    try:
        yield
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    # The runner logs each migration itself; here each is printed once, below.
    runner_log = logging.getLogger("peewee.migrations")
    level = runner_log.level
    runner_log.setLevel(logging.WARNING)
    try:
        applied = database.upgrade()
    finally:
        runner_log.setLevel(level)
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("database is up to date")


@db_cli.command("status")
def db_status() -> None:
    """List migrations and whether each is applied."""
    with database.connection():
        for migration in database.migration_runner().status():
            if migration.applied:
                state = f"applied {migration.applied:%Y-%m-%d %H:%M:%S}"
            else:
                state = "pending"
            click.echo(f"{migration.name:40} {state}")


@integrations_cli.command("create")
@click.option("--name", required=True, help="A name for the Okta org, e.g. 'Acme Okta'.")
def integrations_create(name: str) -> None:
    """Create an integration and print its id."""
    with database.connection(), reported_as_cli_error():
        integration = create_integration(name)
    click.echo(integration.id)


@integrations_cli.command("list")
def integrations_list() -> None:
    """List integrations: id and name."""
    from models import Integration

    with database.connection():
        for integration in Integration.select().order_by(Integration.created):
            click.echo(f"{integration.id}  {integration.name}")


@integrations_cli.command("delete")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def integrations_delete(integration_ref: str, yes: bool) -> None:
    """Delete an integration: tokens revoked now, users erased as SCIM DELETE does, then
    every row of it dropped (large ones by the worker; this command waits for them)."""
    import time

    from flask import current_app

    from services.integrations.deletion import (
        deletion_summary,
        erase_batch,
        finish_if_settled,
        start_deletion,
    )

    with database.connection(), reported_as_cli_error():
        integration = get_integration(integration_ref)
        summary = deletion_summary(integration)
        click.echo(
            f"deleting {summary.name!r} erases {summary.users} users, {summary.groups} groups, "
            f"{summary.invitations} invitations and {summary.events} event records, and "
            f"revokes {summary.tokens} SCIM tokens"
        )
        if not yes:
            click.confirm("Delete it?", abort=True)
        start_deletion(integration, audit.Actor("cli"))
        while erase_batch(integration.id):
            done = Integration.get_by_id(integration.id)
            click.echo(f"erased {done.delete_done} of {done.delete_total} users", err=True)
        # Other processes may accept its tokens from their caches this much longer.
        time.sleep(current_app.config["SCIM_TOKEN_CACHE_SECONDS"])
        while erase_batch(integration.id):
            pass
        gone = finish_if_settled(integration.id) or (
            Integration.get_or_none(Integration.id == integration.id) is None
        )
    if gone:
        click.echo(f"deleted integration {summary.name!r}")
    else:
        click.echo(
            f"erased the users of {summary.name!r}; the worker drops the rest once Okta has "
            "confirmed the group removals"
        )


@integrations_cli.command("hook-secret")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
def integrations_hook_secret(integration_ref: str) -> None:
    """Print a new Okta Event Hook secret (the previous one keeps working for a while)."""
    from services.okta.hook_secrets import rotate_hook_secret

    with database.connection():
        with reported_as_cli_error():
            integration = get_integration(integration_ref)
        secret = rotate_hook_secret(integration)
    click.echo(secret)


@integrations_cli.command("configure-okta")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
@click.option("--org-url", help="Your Okta org, e.g. https://acme.okta.com")
@click.option("--group", help="Passwordless group id (00g...) or its admin-console URL.")
@click.option(
    "--app-id", help="Okta app instance id (0oa...) or its admin-console URL; '' clears it."
)
@click.option("--api-token-stdin", is_flag=True, help="Read an Okta API token (SSWS) from stdin.")
@click.option("--client-id", help="OAuth service app client id (private_key_jwt).")
@click.option(
    "--private-key-file",
    type=click.File("r"),
    help="PEM or JWK private key of the OAuth service app ('-' for stdin).",
)
@click.option("--key-id", help="The key's kid, if Okta has several keys for the app.")
def integrations_configure_okta(
    integration_ref: str,
    org_url: str | None,
    group: str | None,
    app_id: str | None,
    api_token_stdin: bool,
    client_id: str | None,
    private_key_file: Any,
    key_id: str | None,
) -> None:
    """Set the Okta org, passwordless group and API credential (stored encrypted)."""
    from services.okta.org_settings import configure_okta

    api_token = sys.stdin.read().strip() if api_token_stdin else None
    private_key = private_key_file.read() if private_key_file else None
    with database.connection(), reported_as_cli_error():
        integration = configure_okta(
            get_integration(integration_ref),
            org_url=org_url,
            group=group,
            app_id=app_id,
            api_token=api_token,
            client_id=client_id,
            private_key=private_key,
            key_id=key_id,
        )
    click.echo(f"saved Okta settings for {integration.name}")


@integrations_cli.command("test-connection")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
def integrations_test_connection(integration_ref: str) -> None:
    """Check the Okta credential and that the passwordless group is an OKTA_GROUP."""
    from services.okta.connection import check_okta_connection

    with database.connection(), reported_as_cli_error():
        result = check_okta_connection(get_integration(integration_ref))
    if not result.ok:
        raise click.ClickException(result.reason)
    click.echo(f"ok: group {result.group_name!r} ({result.group_type}) is reachable")


@contextlib.contextmanager
def okta_pass(integration_ref: str, failure: str) -> Iterator[Any]:
    """The integration of an Okta pass (reconcile, backfill); Okta's refusal is one error line."""
    from services.okta.connection import okta_ready
    from services.okta.errors import OktaError

    with database.connection(), reported_as_cli_error():
        integration = get_integration(integration_ref)
        not_ready = okta_ready(integration)
        if not_ready:
            raise click.ClickException(f"Okta is not set up: {not_ready}")
        try:
            yield integration
        except OktaError as exc:
            raise click.ClickException(f"{failure}: {exc}") from None


@integrations_cli.command("reconcile")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
@click.option(
    "--mode",
    type=click.Choice(["fix", "report"]),
    default=None,
    help="report: only show the drift (default: OKTA_RECONCILE_MODE, fix).",
)
def integrations_reconcile(integration_ref: str, mode: str | None) -> None:
    """Make the passwordless group hold exactly our enrolled users, now."""
    from services.okta.reconciliation import reconcile

    with okta_pass(integration_ref, "could not read the group from Okta") as integration:
        report = reconcile(integration, mode)
    for okta_id in report.strays:
        click.echo(f"stray member: {okta_id}")
    for okta_id in report.missing:
        click.echo(f"missing member: {okta_id}")
    click.echo(report.summary())


@integrations_cli.command("backfill")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
@click.option(
    "--since",
    default=None,
    help="ISO 8601 start (default: the newest stored event, at most the look-back ago).",
)
def integrations_backfill(integration_ref: str, since: str | None) -> None:
    """Read missed events from Okta's System Log and apply them like delivered ones."""
    import datetime as dt

    from hooks.backfill import backfill

    start = None
    if since:
        try:
            parsed = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter("not an ISO 8601 time", param_hint="--since") from None
        start = parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    with okta_pass(integration_ref, "could not read Okta's System Log") as integration:
        result = backfill(integration, start)
    click.echo(result.summary())


@admins_cli.command("create")
@click.option("--email", required=True, help="The admin's email (their sign-in name).")
def admins_create(email: str) -> None:
    """Create an admin; the password is asked for, or read from stdin when piped."""
    from services.admin.admins import create_admin

    password = _new_password()
    with database.connection(), reported_as_cli_error():
        admin = create_admin(email, password)
    click.echo(f"created admin {admin.email}")


def _new_password() -> str:
    """A password asked for on a terminal (twice), or read from stdin when piped."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@admins_cli.command("passwd")
@click.option("--email", required=True, help="The admin whose password to set.")
def admins_passwd(email: str) -> None:
    """Set an admin's password (asked for, or read from stdin); their sessions all end."""
    from services.admin.admins import set_password

    password = _new_password()
    with database.connection(), reported_as_cli_error():
        admin = set_password(email, password)
    click.echo(f"password changed for {admin.email}; their sessions have ended")


@admins_cli.command("list")
def admins_list() -> None:
    """List admins: email, how they sign in, last sign-in, added."""
    from services.admin.admins import list_admins

    with database.connection():
        rows = list_admins()
    click.echo(f"{'EMAIL':40} {'SIGNS IN WITH':14} {'LAST SIGN-IN':19}  ADDED")
    for admin in rows:
        methods = "+".join(
            m for m, on in (("password", admin.password_hash), ("okta", admin.oidc_subject)) if on
        )
        last = f"{admin.last_sign_in:%Y-%m-%d %H:%M:%S}" if admin.last_sign_in else "never"
        click.echo(f"{admin.email[:40]:40} {methods:14} {last:19}  {admin.created:%Y-%m-%d}")


@admins_cli.command("remove")
@click.option("--email", required=True, help="The admin to remove.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def admins_remove(email: str, yes: bool) -> None:
    """Remove an admin (never the last one); their sessions end everywhere."""
    from services.admin.admins import find_admin, remove_admin

    with database.connection(), reported_as_cli_error():
        admin = find_admin(email)
        if not yes:
            click.confirm(f"Remove admin {admin.email}?", abort=True)
        remove_admin(admin)
    click.echo(f"removed admin {admin.email}")


@admins_cli.command("setup-link")
def admins_setup_link() -> None:
    """Print the one-time link that creates the first admin (the one the server prints)."""
    from services.admin.admins import setup_link

    with database.connection():
        link = setup_link()
    if link is None:
        raise click.ClickException(
            "an admin account already exists: sign in, or add another with "
            "`flask --app app admins create --email EMAIL`"
        )
    click.echo(link)


@click.command("rotate-encryption")
def rotate_encryption() -> None:
    """Re-encrypt stored secrets under the first of ENCRYPTION_KEYS (after adding a new key)."""
    from services.platform.key_rotation import reencrypt_all

    with database.connection():
        count = reencrypt_all()
    click.echo(f"re-encrypted {count} stored values with the first of ENCRYPTION_KEYS")


@click.command("worker")
def worker_command() -> None:
    """Run a background worker until SIGTERM or Ctrl-C (several may run against Postgres)."""
    import signal

    from flask import current_app

    from worker import build_worker

    worker = build_worker(current_app._get_current_object())  # type: ignore[attr-defined]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    click.echo(f"worker {worker.name} running; Ctrl-C to stop", err=True)
    worker.run_forever()


@tokens_cli.command("create")
@click.option("--integration", "integration_ref", required=True, help="Integration name or id.")
@click.option("--label", default="", help="What the token is for, e.g. 'Okta production'.")
def tokens_create(integration_ref: str, label: str) -> None:
    """Print a new SCIM bearer token on stdout (and nothing else)."""
    with database.connection():
        with reported_as_cli_error():
            integration = get_integration(integration_ref)
        _, raw = create_token(integration, label)
    click.echo(raw)


@tokens_cli.command("list")
@click.option("--integration", "integration_ref", default=None, help="Integration name or id.")
def tokens_list(integration_ref: str | None) -> None:
    """List tokens: id, prefix, integration, label, created, last used, revoked."""
    with database.connection():
        with reported_as_cli_error():
            integration = get_integration(integration_ref) if integration_ref else None
        rows = list_tokens(integration)
    click.echo(
        f"{'ID':>5}  {'PREFIX':14} {'INTEGRATION':20} {'CREATED':19}  {'LAST USED':19}  "
        "STATUS   LABEL"
    )
    for token in rows:
        last_used = f"{token.last_used:%Y-%m-%d %H:%M:%S}" if token.last_used else "never"
        status = "revoked" if token.revoked_at else "active"
        click.echo(
            f"{token.id:>5}  {token.prefix + '…':14} {token.integration.name[:20]:20} "
            f"{token.created:%Y-%m-%d %H:%M:%S}  {last_used:19}  {status:8} {token.label}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id; Okta calls with it fail from now on."""
    with database.connection(), reported_as_cli_error():
        token = revoke_token(token_id)
    click.echo(f"revoked token {token.id} ({token.prefix}…)")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH (a file, or a directory) while the service runs."""
    from services.platform.backup import backup_sqlite

    with reported_as_cli_error():
        result = backup_sqlite(path)
    migration = result.last_migration or "no migrations"
    click.echo(f"backed up {result.size} bytes to {result.path} (schema at {migration})")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace a database that holds data (copied aside first)."
)
def restore_command(path: Path, force: bool) -> None:
    """Restore a SQLite backup made by `backup` (stop the service and workers first)."""
    from services.platform.restore import restore_sqlite

    with reported_as_cli_error():
        result = restore_sqlite(path, force)
    if result.replaced_copy:
        click.echo(f"the replaced database was copied to {result.replaced_copy}")
    for name in result.applied:
        click.echo(f"applied {name}")
    click.echo(f"restored {result.restored_from}")


@click.command("export")
@click.argument("path", type=click.Path(path_type=Path))
def export_command(path: Path) -> None:
    """Write every table's rows to PATH (JSON lines), to import into another database."""
    from services.platform.transfer import export_database

    with reported_as_cli_error():
        result = export_database(path)
    click.echo(f"exported {result.total} rows from {len(result.rows)} tables to {result.path}")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Load an export from PATH into this database, which must be new and migrated."""
    from services.platform.transfer import import_database

    with reported_as_cli_error():
        result = import_database(path)
    for table, count in result.rows.items():
        click.echo(f"{table:20} {count:>8} rows")
    click.echo(f"imported {result.total} rows from {result.path}")


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    for group in (db_cli, integrations_cli, tokens_cli, admins_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(rotate_encryption)
    for command in (backup_command, restore_command, export_command, import_command):
        app.cli.add_command(command)
