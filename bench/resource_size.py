"""What one caller can make the service store and send: big unknown attributes, odd JSON.

    .venv/bin/python bench/resource_size.py --db sqlite
    .venv/bin/python bench/resource_size.py --db postgres

In-process (Flask's test client, no gunicorn). Sends an ~8 MB User (an unknown attribute and
an undeclared extension object), then creates ``--users`` Users carrying ~60 KiB of such
data each (just under SCIM_MAX_RESOURCE_BYTES) and lists them with count=1000. Prints the
statuses, the list page's size and itemsPerPage, and the memory the list request allocated
at its peak (tracemalloc). Then sends a 5,000-digit integer and 2,000-deep nesting to each
door that takes JSON and prints the statuses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fresh_app import fresh_app, print_side_by_side

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
BIG_URN = "urn:x:big"


def _user(number: int, half_bytes: int) -> bytes:
    body = {
        "schemas": [USER_URN, BIG_URN],
        "userName": f"user{number}@example.com",
        "emails": [{"value": f"user{number}@example.com", "primary": True}],
        "favouriteColours": "x" * half_bytes,
        BIG_URN: {"blob": "y" * half_bytes},
    }
    return json.dumps(body).encode()


def measure(database: str, users: int) -> dict[str, str]:
    """The figures on one database."""
    figures: dict[str, str] = {}
    with fresh_app(database, "resource_size"):
        from flask import current_app

        from models import Integration
        from services.integrations.registry import create_integration
        from services.integrations.scim_tokens import create_token
        from services.okta.hook_secrets import rotate_hook_secret

        integration: Integration = create_integration("Bench Okta")
        token = create_token(integration, "bench")[1]
        hook_secret = rotate_hook_secret(integration)
        client = current_app.test_client()
        scim = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

        big = client.post("/scim/v2/Users", data=_user(0, 4_000_000), headers=scim)
        figures["POST of an ~8 MB User"] = str(big.status_code)
        started = time.perf_counter()
        for number in range(1, users + 1):
            response = client.post("/scim/v2/Users", data=_user(number, 30 * 1024), headers=scim)
            assert response.status_code == 201, response.get_json()
        figures[f"create {users} Users of ~60 KiB"] = f"{time.perf_counter() - started:.1f} s"

        tracemalloc.start()
        page = client.get("/scim/v2/Users?count=1000", headers=scim)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        body = page.get_json()
        figures["list page (count=1000)"] = (
            f"{len(page.data) / 2**20:.1f} MiB, itemsPerPage {body['itemsPerPage']} "
            f"of totalResults {body['totalResults']}, peak allocation {peak / 2**20:.0f} MiB"
        )

        odd = {
            "5,000-digit integer": b'{"token": ' + b"9" * 5000 + b"}",
            "2,000-deep nesting": b'{"token": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        }
        doors = {
            "/scim/v2/Users": scim,
            f"/hooks/okta/{integration.id}": {
                "Authorization": hook_secret,
                "Content-Type": "application/json",
            },
            "/api/v1/enrollments": {"Content-Type": "application/json"},
        }
        for name, data in odd.items():
            statuses = [
                str(client.post(path, data=data, headers=headers).status_code)
                for path, headers in doors.items()
            ]
            figures[f"{name} at SCIM / Okta hook / enrollments"] = " / ".join(statuses)
    return figures


def main() -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    results = {db: measure(db, args.users) for db in args.db or ["sqlite"]}
    print_side_by_side("Stored and sent sizes", results)


if __name__ == "__main__":
    main()
