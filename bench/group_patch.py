"""What a one-member group PATCH costs on a 10,000-member group, with and without the members
in the answer.

    .venv/bin/python bench/group_patch.py --db sqlite
    .venv/bin/python bench/group_patch.py --db postgres

Seeds ``--members`` users and one group holding all of them, then sends Okta's group-push
PATCHes one member at a time: ``remove`` of ``members[value eq "…"]`` and ``add`` of the
same member back, so the group stays the same size. Each is sent ``--runs`` times as Okta
sends it (no query parameters: the 200 carries the group with every member, RFC 7644
§3.5.2) and as often with ``?excludedAttributes=members`` (the group without its members).
Prints the median time and size of each answer. The change itself costs the same either way
(tests/blueprints/scim/test_patch.py counts its statements); the difference is the member
list that the answer streams.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_group import seed_everyone_group
from bench.harness import Server, seed_users

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _patch(url: str, token: str, operation: dict[str, object]) -> tuple[float, int]:
    body = json.dumps({"schemas": [PATCH_OP], "Operations": [operation]}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        size = len(response.read())
        assert response.status == 200, response.status
    return time.perf_counter() - started, size


def measure(url: str, token: str, member_ids: list[str]) -> dict[str, tuple[float, int]]:
    """Median seconds and last size of each PATCH kind, over the given members."""
    figures: dict[str, tuple[list[float], int]] = {}
    for member in member_ids:
        operations: list[tuple[str, dict[str, object]]] = [
            ("remove one member", {"op": "remove", "path": f'members[value eq "{member}"]'}),
            ("add one member", {"op": "add", "path": "members", "value": [{"value": member}]}),
        ]
        for label, operation in operations:
            seconds, size = _patch(url, token, operation)
            times, _ = figures.setdefault(label, ([], 0))
            times.append(seconds)
            figures[label] = (times, size)
    return {label: (statistics.median(t), size) for label, (t, size) in figures.items()}


def main() -> None:
    """Seed, patch, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with Server(db=args.db, workers=2) as server:
        token = server.token()
        sample = seed_users(server, args.members, sample=args.runs)
        group_id = seed_everyone_group(server)
        url = f"{server.url}/scim/v2/Groups/{group_id}"
        members = [scim_id for scim_id, _ in sample]
        for title, target in (
            ("as Okta sends it", url),
            ("with ?excludedAttributes=members", f"{url}?excludedAttributes=members"),
        ):
            for label, (seconds, size) in measure(target, token, members).items():
                print(
                    f"{args.db}, {args.members} members, {label} {title}: "
                    f"median {seconds * 1000:.1f} ms, answer {size / 1e3:.1f} kB"
                )


if __name__ == "__main__":
    main()
