"""Send welcome emails through the worker to a local SendGrid server; print emails per second.

    .venv/bin/python bench/email_throughput.py --emails 1000 --db sqlite
    .venv/bin/python bench/email_throughput.py --emails 1000 --db postgres --users 100000

Users are provisioned through the service layer (so each has a queued invitation), then one
``flask --app app worker`` process sends them all to ``testkit/fakes/sendgrid.FakeSendGrid``
over HTTP; the figure is emails accepted by the fake per second of wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BIN, ROOT, Server, seed_users
from testkit.fakes.sendgrid import FakeSendGrid

PROVISION = """
import sys
from app import create_app
from models import Integration
from services.platform.audit import Actor
from services.users.provisioning import create_user
app = create_app()
with app.app_context():
    integration = Integration.get()
    for n in range({count}):
        name = f"mail.{{n:05d}}@example.com"
        create_user(integration, Actor("bench"), {{
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {{"givenName": "Mail", "familyName": f"User {{n}}"}},
            "emails": [{{"primary": True, "value": name, "type": "work"}}], "active": True}})
"""


def main() -> None:
    """Provision, start a worker, time the sends."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument(
        "--users", type=int, default=0, help="users already there (no email due), seeded first"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--threads", type=int, default=8, help="WORKER_THREADS")
    parser.add_argument("--latency", type=float, default=0.0, help="SendGrid answer delay (s)")
    args = parser.parse_args()

    with FakeSendGrid() as sendgrid:
        sendgrid.delay = args.latency
        extra = {
            "SENDGRID_API_KEY": sendgrid.api_key,
            "SENDGRID_BASE_URL": sendgrid.url,
            "PUBLIC_BASE_URL": "https://onboard.example.com",
            "WORKER_THREADS": str(args.threads),
            "WORKER_POLL_SECONDS": "0.05",
        }
        with Server(db=args.db, workers=1, extra_env=extra) as server:
            if args.users:
                seed_users(server, args.users, sample=1)
            subprocess.run(
                [sys.executable, "-c", PROVISION.format(count=args.emails)],
                cwd=ROOT,
                env=server.env,
                check=True,
            )
            started = time.perf_counter()
            worker = subprocess.Popen(
                [str(BIN / "flask"), "--app", "app", "worker"],
                cwd=ROOT,
                env=server.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while len(sendgrid.messages) < args.emails:
                    if time.perf_counter() - started > 600:
                        raise SystemExit("timed out")
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    per_invitation = {m.custom_args["invitation_id"] for m in sendgrid.messages}
    print(
        f"{args.db}, {args.users} users already: {args.emails} welcome emails in {elapsed:.2f}s = "
        f"{args.emails / elapsed:.0f} emails/s "
        f"(worker threads {args.threads}, SendGrid latency {args.latency * 1000:.0f} ms, "
        f"worker start-up included; {len(per_invitation)} distinct invitations)"
    )


if __name__ == "__main__":
    main()
