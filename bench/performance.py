"""The performance report's SCIM figures, for one database and several user counts.

    .venv/bin/python bench/performance.py --db sqlite --users 1000 10000 100000
    .venv/bin/python bench/performance.py --db postgres --users 1000 10000 100000

For each user count, on a fresh database served by gunicorn (2 workers):
  * the Okta workload (filter by userName, create, get, PUT, PATCH active) per operation;
  * get-by-id alone and a floor measured in the same server process: a bare Flask endpoint
    that reads one user row by primary key and returns it as JSON (bench/floor_app.py);
    get-by-id throughput is reported as a ratio of the floor;
  * Okta's import: every user paged with count=100, the total time, and the cost of the last
    page against the first;
  * the peak resident memory (VmHWM) of each gunicorn worker.
Event-hook and email figures come from bench/hook_latency.py and bench/email_throughput.py.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, seed_users
from bench.okta_load import Client, Recorder, print_figures, run_load


def closed_loop(
    url: str, token: str, paths: list[str], concurrency: int, seconds: float
) -> dict[str, float]:
    """C clients each sending GETs to random ``paths`` for ``seconds``: rps, p50, p99."""
    recorder = Recorder()
    deadline = time.perf_counter() + seconds

    def client_loop() -> None:
        client = Client(url, token, recorder)
        rng = random.Random()
        while time.perf_counter() < deadline:
            path = rng.choice(paths)
            if path.startswith("/bench/"):
                client.raw_get("op", path)
            else:
                client.call("op", "GET", path)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = sorted(recorder.samples["op"])
    return {
        "rps": len(samples) / elapsed,
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": samples[int(len(samples) * 0.99)] * 1000,
        "errors": recorder.errors.get("op", 0),
    }


def import_pages(url: str, token: str, total: int) -> dict[str, float]:
    """Page through every user as Okta's import does; time the whole and first vs last page."""
    client = Client(url, token, Recorder())
    started = time.perf_counter()
    seen = 0
    start = 1
    while True:
        status, page = client.call("page", "GET", f"/Users?startIndex={start}&count=100")
        assert status == 200, status
        seen += page["itemsPerPage"]
        if start + page["itemsPerPage"] > page["totalResults"] or not page["itemsPerPage"]:
            break
        start += 100
    total_seconds = time.perf_counter() - started
    last_start = ((total - 1) // 100) * 100 + 1

    def median_page(start_index: int) -> float:
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            client.call("page", "GET", f"/Users?startIndex={start_index}&count=100")
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    first = median_page(1)
    last = median_page(last_start)
    return {
        "users_seen": seen,
        "pages": (seen + 99) // 100,
        "total_s": total_seconds,
        "first_page_ms": first,
        "last_page_ms": last,
        "last_over_first": last / first,
    }


def peak_memory_mb(pids: list[int]) -> list[float]:
    """VmHWM (peak resident set) of each process, in MB."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def measure(db: str, users: int, concurrency: int, seconds: float) -> dict[str, Any]:
    """Every SCIM figure for one database and user count."""
    with Server(db=db, workers=2, app_factory="bench.floor_app:create_app()") as server:
        token = server.token()
        known = seed_users(server, users)
        base = server.url
        workload = run_load(base, token, known, concurrency, seconds)
        print_figures(f"{db}, {users} users: Okta workload", workload)
        ids = [f"/Users/{scim_id}" for scim_id, _ in known[:2000]]
        get_only = closed_loop(base, token, ids, concurrency, seconds / 2)
        floor_paths = [
            f"/bench/floor/{n}" for n in random.sample(range(1, users + 1), min(users, 2000))
        ]
        floor = closed_loop(base, token, floor_paths, concurrency, seconds / 2)
        paging = import_pages(base, token, users)
        memory = peak_memory_mb(server.worker_pids())
    result = {
        "workload": workload,
        "get_by_id": get_only,
        "floor": floor,
        "get_over_floor": get_only["rps"] / floor["rps"],
        "import": paging,
        "worker_peak_mb": memory,
    }
    print(
        f"{db}, {users} users: get-by-id {get_only['rps']:.0f}/s (p50 {get_only['p50_ms']:.1f} ms) "
        f"vs floor {floor['rps']:.0f}/s (p50 {floor['p50_ms']:.1f} ms) = "
        f"{result['get_over_floor']:.2f} of the floor"
    )
    print(
        f"{db}, {users} users: import of {paging['users_seen']} users in {paging['pages']} pages "
        f"took {paging['total_s']:.1f}s; first page {paging['first_page_ms']:.1f} ms, last page "
        f"{paging['last_page_ms']:.1f} ms ({paging['last_over_first']:.2f}x)"
    )
    print(
        f"{db}, {users} users: gunicorn worker peak RSS {', '.join(f'{m:.0f} MB' for m in memory)}"
    )
    return result


def main() -> None:
    """Run every user count and optionally save the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    results = {n: measure(args.db, n, args.concurrency, args.seconds) for n in args.users}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
