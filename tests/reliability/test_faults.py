"""Faults in what the service depends on: the database stops mid-run; SendGrid and Okta are
unreachable or slow for a long stretch. Nothing is half-done, nothing piles up, and all of it
recovers by itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import requests

from extensions import db
from models import GroupSync, Invitation, User
from services.okta.org_settings import configure_okta
from services.platform.settings import encryptor
from testkit.fakes.okta import FakeOkta
from tests.blueprints.scim.conftest import ERROR, GROUP_URN, PATCH_OP
from tests.conftest import OKTA_API_TOKEN, OKTA_HEADERS
from tests.factories import okta_create_user_payload, okta_delivery, okta_event
from tests.servers import (
    ROOT,
    Gate,
    Gunicorn,
    PrivatePostgres,
    flask,
    service_env,
    start_worker,
)

SCIM_JSON = {**OKTA_HEADERS, "Content-Type": "application/scim+json; charset=utf-8"}

# --- the database stops mid-run -------------------------------------------------------------

SEED = """
import json
from app import create_app
from services.okta.hook_secrets import rotate_hook_secret
from services.integrations.registry import create_integration
from services.integrations.scim_tokens import create_token
app = create_app()
with app.app_context():
    integration = create_integration("Outage Okta")
    print(json.dumps({
        "integration": integration.id,
        "token": create_token(integration, "okta")[1],
        "hook_secret": rotate_hook_secret(integration),
    }))
"""


@dataclass
class Outcome:
    """What one request of the load got back."""

    kind: str
    key: Any
    status: int
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""


@dataclass
class Load:
    """Okta's traffic during the outage: creates, membership PATCHes and hook deliveries."""

    url: str
    ids: dict[str, str]
    members: list[str]
    group: str
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _scim(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({**SCIM_JSON, "Authorization": f"Bearer {self.ids['token']}"})
        return session

    def _keep(self, kind: str, key: Any, response: requests.Response) -> None:
        outcome = Outcome(
            kind,
            key,
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.headers.get("Retry-After"),
            response.text[:500],
        )
        with self._lock:
            self.outcomes.append(outcome)

    def create(self, name: str, session: requests.Session) -> requests.Response:
        """POST a user."""
        body = okta_create_user_payload(name, externalId=f"00u{uuid.uuid4().hex[:17]}")
        return session.post(f"{self.url}/scim/v2/Users", json=body, timeout=30)

    def add_pair(self, pair: int, session: requests.Session) -> requests.Response:
        """PATCH two members into the group in one request."""
        value = [{"value": m} for m in self.members[2 * pair : 2 * pair + 2]]
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": value}],
        }
        return session.patch(f"{self.url}/scim/v2/Groups/{self.group}", json=body, timeout=30)

    def deliver(self, number: int, session: requests.Session) -> requests.Response:
        """An event-hook delivery of two events (their uuids derive from ``number``)."""
        events = [
            okta_event("user.lifecycle.suspend", uuid=event_uuid(number, half), okta_id=None)
            for half in (0, 1)
        ]
        headers = {"Authorization": self.ids["hook_secret"], "Content-Type": "application/json"}
        return session.post(
            f"{self.url}/hooks/okta/{self.ids['integration']}",
            data=json.dumps(okta_delivery(*events)),
            headers=headers,
            timeout=30,
        )

    def _creates(self, worker: int) -> None:
        session = self._scim()
        for n in itertools.count():
            if self.stop.is_set():
                return
            name = f"load{worker}-{n}@example.com"
            with contextlib.suppress(requests.RequestException):
                self._keep("create", name, self.create(name, session))

    def _patches(self) -> None:
        session = self._scim()
        for pair in range(len(self.members) // 2):
            if self.stop.wait(0.05):
                return
            with contextlib.suppress(requests.RequestException):
                self._keep("patch", pair, self.add_pair(pair, session))

    def _hooks(self) -> None:
        session = requests.Session()
        for number in itertools.count():
            if self.stop.wait(0.02):
                return
            with contextlib.suppress(requests.RequestException):
                self._keep("hook", number, self.deliver(number, session))

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Send the load from several threads until the block ends."""
        threads = [threading.Thread(target=self._creates, args=(w,)) for w in range(3)]
        threads += [threading.Thread(target=self._patches), threading.Thread(target=self._hooks)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=60)


def event_uuid(number: int, half: int) -> str:
    """A stable uuid for the ``half``-th event of delivery ``number``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"outage/{number}/{half}"))


def assert_scim_unavailable(response: requests.Response) -> None:
    """503, a SCIM error body, and an integer Retry-After (docs/okta.md §1.9)."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "503"
    assert re.fullmatch(r"[1-9][0-9]*", response.headers["Retry-After"])


def _wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if check():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


@pytest.fixture
def outage_server() -> Iterator[tuple[PrivatePostgres, Gunicorn, dict[str, str]]]:
    """A private Postgres cluster, migrated and seeded, and gunicorn serving it."""
    with PrivatePostgres() as postgres:
        # Okta's traffic here is far above SCIM_RATE_LIMIT's default: outages are the subject.
        env = service_env(
            postgres.url,
            DB_POOL_SIZE="4",
            DB_POOL_TIMEOUT="2",
            SCIM_RATE_LIMIT="1000000 per minute",
        )
        flask(env, "db", "upgrade")
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        ids = json.loads(seeded.stdout.strip().splitlines()[-1])
        with Gunicorn(env, workers=2, threads=4) as server:
            yield postgres, server, ids


def test_a_database_outage_is_503_then_recovers_with_nothing_half_applied(
    outage_server: tuple[PrivatePostgres, Gunicorn, dict[str, str]],
) -> None:
    postgres, server, ids = outage_server
    load = Load(server.url, ids, [], "")
    scim = load._scim()
    load.members = [load.create(f"member{i}@example.com", scim).json()["id"] for i in range(60)]
    group = {"schemas": [GROUP_URN], "displayName": "Outage", "members": []}
    load.group = scim.post(f"{server.url}/scim/v2/Groups", json=group, timeout=30).json()["id"]
    # Every worker's pool now holds connections that the outage will break.
    for _ in range(20):
        assert scim.get(f"{server.url}/scim/v2/Users?count=1", timeout=30).status_code == 200

    with load.running():
        time.sleep(1.0)
        postgres.stop("immediate")
        down_at = len(load.outcomes)
        _wait_for(
            lambda: requests.get(f"{server.url}/readyz", timeout=5).status_code == 503,
            10,
            "/readyz to fail",
        )
        assert_scim_unavailable(scim.get(f"{server.url}/scim/v2/Users", timeout=30))
        assert_scim_unavailable(scim.get(f"{server.url}/scim/v2/Groups/{load.group}", timeout=30))
        assert load.deliver(10_000, requests.Session()).status_code == 503
        time.sleep(2.0)
        postgres.start()
        _wait_for(
            lambda: requests.get(f"{server.url}/readyz", timeout=5).status_code == 200,
            30,
            "/readyz to recover",
        )
        time.sleep(1.5)

    # Recovered without a restart: every worker process and pooled connection works again.
    for _ in range(30):
        response = scim.get(f"{server.url}/scim/v2/Users?count=1", timeout=30)
        assert response.status_code == 200, (response.status_code, response.text)
    assert load.deliver(10_001, requests.Session()).status_code == 200

    outcomes = load.outcomes
    assert len(outcomes) > down_at, "no load was sent during the outage"
    unexpected = [o for o in outcomes if o.status not in (200, 201, 503)]
    assert not unexpected, f"{unexpected[:5]}\n{server.output()}"
    unavailable = [o for o in outcomes if o.status == 503]
    assert unavailable, "the outage was never seen"
    for outcome in unavailable:
        if outcome.kind == "hook":
            continue
        assert outcome.content_type.startswith("application/scim+json"), outcome
        assert json.loads(outcome.body)["schemas"] == [ERROR], outcome
        assert outcome.retry_after and re.fullmatch(r"[1-9][0-9]*", outcome.retry_after)

    # Nothing half-applied: each request's writes are all there or none are.
    url = postgres.url
    users = dict(_rows(url, 'SELECT user_name, id FROM "user"'))
    invited = _rows(url, "SELECT user_id, count(*) FROM invitation GROUP BY user_id")
    assert dict(invited) == {user_id: 1 for user_id in users.values()}
    audited = _rows(url, "SELECT target_id FROM audit_entry WHERE action = 'user.create'")
    assert len(audited) == len(users) == len({t for (t,) in audited})
    members = {
        m
        for (m,) in _rows(
            url, 'SELECT u.scim_id FROM group_member m JOIN "user" u ON u.id = m.user_id'
        )
    }
    pairs = [set(load.members[2 * p : 2 * p + 2]) for p in range(len(load.members) // 2)]
    applied = [p for p, pair in enumerate(pairs) if pair <= members]
    assert all(pair <= members or not pair & members for pair in pairs), "half a PATCH applied"
    (version,) = _rows(url, 'SELECT version FROM "group"')[0]
    assert version == 1 + len(applied)
    events = {u for (u,) in _rows(url, "SELECT uuid FROM okta_event")}
    delivered = {o.key for o in outcomes if o.kind == "hook"}
    for number in delivered:
        both = {event_uuid(number, 0), event_uuid(number, 1)}
        assert both <= events or not both & events, "half a delivery stored"
    for outcome in outcomes:
        if outcome.status == 201:
            assert outcome.key in users
        elif outcome.kind == "patch" and outcome.status == 200:
            assert outcome.key in applied
        elif outcome.kind == "hook" and outcome.status == 200:
            assert {event_uuid(outcome.key, 0), event_uuid(outcome.key, 1)} <= events

    # Okta retries what got a 503: then everything is there exactly once.
    for outcome in unavailable:
        if outcome.kind == "create":
            retried = load.create(outcome.key, scim)
            # 409: the commit went through although the answer did not (in doubt).
            assert retried.status_code in (201, 409), (retried.status_code, retried.text)
        elif outcome.kind == "patch":
            assert load.add_pair(outcome.key, scim).status_code == 200
        else:
            assert load.deliver(outcome.key, requests.Session()).status_code == 200
    names = [o.key for o in outcomes if o.kind == "create"]
    final = dict(_rows(url, 'SELECT user_name, count(*) FROM "user" GROUP BY user_name'))
    assert all(final.get(name) == 1 for name in names)
    members = {
        m
        for (m,) in _rows(
            url, 'SELECT u.scim_id FROM group_member m JOIN "user" u ON u.id = m.user_id'
        )
    }
    touched = {o.key for o in outcomes if o.kind == "patch"}
    assert all(pairs[p] <= members for p in touched)
    stored = [u for (u,) in _rows(url, "SELECT uuid FROM okta_event")]
    assert len(stored) == len(set(stored))
    assert {event_uuid(n, h) for n in delivered for h in (0, 1)} <= set(stored)


# --- SendGrid and Okta unreachable, then slow, for a long stretch ---------------------------

WORKER_THREADS = 4
DB_POOL_SIZE = 4


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


class Sampler:
    """Samples a process's thread and socket counts in the background."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.samples.append((time.monotonic(), _threads(self.pid), _sockets(self.pid)))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[tuple[float, int, int]]:
        """The samples taken in [start, end)."""
        return [s for s in self.samples if start <= s[0] < end]


def _settled(invited: list[str], enrolled: list[str], okta: FakeOkta, group: str) -> bool:
    emails = Invitation.select().join(User).where(User.scim_id.in_(invited))
    if any(i.email_status not in ("sent", "processed", "delivered") for i in emails):
        return False
    syncs = GroupSync.select().join(User).where(User.scim_id.in_(enrolled))
    if syncs.count() < len(enrolled) or any(s.status != "done" for s in syncs):
        return False
    return {u.external_id for u in User.select().where(User.scim_id.in_(enrolled))} <= (
        okta.groups[group].members
    )


def test_sendgrid_and_okta_down_then_slow_pile_nothing_up_and_all_work_completes(
    app: Any, client: Any, integration: Any, scim_headers: dict[str, str], okta, sendgrid
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    gate = Gate(sendgrid.port)
    names = itertools.count()

    def provision() -> str:
        login = f"user{next(names)}@example.com"
        body = okta_create_user_payload(login, externalId=okta.add_user(login))
        response = client.post("/scim/v2/Users", json=body, headers=scim_headers)
        assert response.status_code == 201
        return str(response.get_json()["id"])

    # Half the users enroll at once (their links, read from the database, stand in for the
    # email): their Okta group membership is the Okta work. The others wait for their email.
    enrolled = [provision() for _ in range(8)]
    for scim_id in enrolled:
        invitation = Invitation.select().join(User).where(User.scim_id == scim_id).get()
        token = encryptor().decrypt(invitation.token_encrypted)
        # As if the email had been handed over: a grant checks Okta's email against it.
        Invitation.update(sent_to=User.get(User.scim_id == scim_id).email).where(
            Invitation.id == invitation.id
        ).execute()
        assert client.post("/api/v1/enrollments", json={"token": token}).status_code == 201
    invited = [provision() for _ in range(8)]
    if not db.is_closed():
        db.close()

    env = service_env(
        app.config["DATABASE_URL"],
        SENDGRID_API_KEY=sendgrid.api_key,
        SENDGRID_BASE_URL=gate.url,
        SENDGRID_TIMEOUT_SECONDS="1",
        OKTA_ALLOWED_HOSTS=okta.host,
        OKTA_CA_BUNDLE=okta.ca_path,
        OKTA_TIMEOUT_SECONDS="1",
        PUBLIC_BASE_URL="https://onboard.example.com",
        WORKER_THREADS=str(WORKER_THREADS),
        WORKER_POLL_SECONDS="0.05",
        WORKER_LEASE_SECONDS="5",
        MAIL_IN_DOUBT_GRACE_SECONDS="3",
        DB_POOL_SIZE=str(DB_POOL_SIZE),
        LOG_LEVEL="ERROR",
    )
    okta.down()  # connection refused; the gate in front of SendGrid is closed too
    worker = start_worker(env)
    try:
        with Sampler(worker.pid) as sampler:
            started = time.monotonic()
            # Unreachable, then slow (answers after the client's timeout), while Okta keeps
            # provisioning new users who need an email.
            for elapsed in range(6):
                if elapsed == 3:
                    sendgrid.delay = okta.delay = 3.0
                    gate.open()
                    okta.up()
                invited.append(provision())
                if not db.is_closed():
                    db.close()
                time.sleep(1.0)
            outage_ended = time.monotonic()
            sendgrid.delay = okta.delay = 0.0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _settled(invited, enrolled, okta, group):
                if not db.is_closed():
                    db.close()
                time.sleep(0.3)
            finished = time.monotonic()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        gate.close()

    assert _settled(invited, enrolled, okta, group), "work was left undone after the outage"
    for scim_id in invited:
        invitation = Invitation.select().join(User).where(User.scim_id == scim_id).get()
        assert len(sendgrid.by_invitation(invitation.id)) == 1, "an email was sent twice"
    during = sampler.between(started, outage_ended)
    assert during, "the worker was not sampled"
    # Bounded: a fixed pool of job threads, and one connection per thread and per pooled
    # database connection at most, however long the outage lasts.
    assert max(s[1] for s in during) <= WORKER_THREADS + 4, during
    assert max(s[2] for s in sampler.between(started, finished)) <= (
        DB_POOL_SIZE + 2 * WORKER_THREADS + 2
    )
    # ... and not growing: the second half of the outage needs no more than the first.
    middle = started + (outage_ended - started) / 2
    first, second = sampler.between(started, middle), sampler.between(middle, outage_ended)
    assert max(s[1] for s in second) <= max(s[1] for s in first) + 2
