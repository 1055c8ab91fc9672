"""A local HTTP server that answers OSV's ``POST /v1/query`` the way api.osv.dev does.

``FakeOsv({"flask": [advisory]})`` reports the advisories for the named packages and ``{}``
(OSV's answer for "no known vulnerabilities") for every other package.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.fakes.local_server import LocalServer


def advisory(vuln_id: str, package: str, fixed: str) -> dict[str, Any]:
    """An OSV record for ``package``, fixed in version ``fixed``."""
    return {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "summary": f"{package} is vulnerable",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


class FakeOsv(LocalServer):
    def __init__(self, advisories: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.advisories = advisories
        self.queries: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.queries.append(query)
                vulns = fake.advisories.get(query["package"]["name"], [])
                body = json.dumps({"vulns": vulns} if vulns else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._handler = Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1/query"

    def __enter__(self) -> FakeOsv:
        self.serve(ThreadingHTTPServer(("127.0.0.1", 0), self._handler))
        return self
