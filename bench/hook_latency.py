"""Okta Event Hook answer time for 50-event deliveries while the worker is busy, and the
worker's sustained event-processing rate.

    .venv/bin/python bench/hook_latency.py --db sqlite
    .venv/bin/python bench/hook_latency.py --db postgres

gunicorn (2 workers) serves the hook; a ``flask --app app worker`` process applies events
as they arrive (suspend/unsuspend of seeded users, which also revokes and re-issues
invitations, so it writes). Deliveries go out one after another, as Okta sends them, and
each answer is timed. Okta gives up after 3 s; the target is p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BIN, ROOT, Server, latency_ms, seed_users

COUNT_UNPROCESSED = """
from app import create_app
from models import OktaEvent
app = create_app()
with app.app_context():
    print(OktaEvent.select().where(OktaEvent.processed_at.is_null()).count())
"""


def _event(okta_id: str, login: str, kind: str, at: dt.datetime) -> dict[str, object]:
    return {
        "uuid": str(uuid.uuid4()),
        "published": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventType": f"user.lifecycle.{kind}",
        "version": "0",
        "severity": "INFO",
        "displayMessage": kind,
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"},
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": [{"id": okta_id, "type": "User", "alternateId": login, "displayName": login}],
    }


def _unprocessed(server: Server) -> int:
    out = subprocess.run(
        [sys.executable, "-c", COUNT_UNPROCESSED],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def main() -> None:
    """Seed, start a worker, deliver and time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=200)
    parser.add_argument("--events", type=int, default=50, help="events per delivery")
    parser.add_argument("--no-worker", action="store_true", help="baseline: no worker running")
    args = parser.parse_args()

    extra = {"PUBLIC_BASE_URL": "https://onboard.example.com", "WORKER_POLL_SECONDS": "0.05"}
    with Server(db=args.db, workers=2, extra_env=extra) as server:
        secret = server.flask("integrations", "hook-secret", "--integration", server.integration_id)
        users = seed_users(server, args.users, sample=args.users)
        worker = subprocess.Popen(
            ["sleep", "3600"] if args.no_worker else [str(BIN / "flask"), "--app", "app", "worker"],
            cwd=ROOT,
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(2)  # let it start before the first delivery
        target = urlparse(server.url)
        path = f"/hooks/okta/{server.integration_id}"
        headers = {"Authorization": secret, "Content-Type": "application/json"}
        latencies: list[float] = []
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        sent_events = 0
        started = time.perf_counter()
        try:
            for d in range(args.deliveries):
                events = []
                for e in range(args.events):
                    _, login = users[(d * args.events + e) % len(users)]
                    n = int(login.split(".")[1].split("@")[0])
                    kind = "suspend" if (d + e) % 2 == 0 else "unsuspend"
                    at = now + dt.timedelta(milliseconds=d * args.events + e)
                    events.append(_event(f"00u{n:017d}", login, kind, at))
                body = json.dumps({"eventType": "com.okta.event_hook", "data": {"events": events}})
                conn = http.client.HTTPConnection(
                    target.hostname or "127.0.0.1", target.port, timeout=10
                )
                t0 = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies.append(time.perf_counter() - t0)
                conn.close()
                if response.status != 200:
                    raise SystemExit(f"delivery {d} answered {response.status}")
                sent_events += len(events)
            delivered_at = time.perf_counter()
            while not args.no_worker and (left := _unprocessed(server)) > 0:
                if time.perf_counter() - delivered_at > 600:
                    raise SystemExit(f"{left} events still unprocessed after 600 s")
                time.sleep(0.5)
            drained = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    print(
        f"{args.db}: {args.deliveries} deliveries of {args.events} events, worker busy applying "
        f"them: answer {latency_ms(latencies)}"
    )
    print(
        f"{args.db}: {sent_events} events applied in {drained:.1f}s from the first delivery = "
        f"{sent_events / drained:.0f} events/s sustained"
    )


if __name__ == "__main__":
    main()
