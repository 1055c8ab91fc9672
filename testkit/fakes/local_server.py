"""The part every fake server shares: an HTTP server on 127.0.0.1 served from a thread of its
own, and stopped so that no request or thread outlives the test."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple

from requests.structures import CaseInsensitiveDict


class LoggedRequest(NamedTuple):
    """One request as the server saw it; ``path`` includes the query string."""

    method: str
    path: str
    headers: CaseInsensitiveDict[str]
    body: bytes


class LocalServer:
    """Base of the fakes: ``serve`` starts a server, ``close`` (and leaving ``with``) stops it."""

    def __init__(self) -> None:
        self._server: HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._lock = threading.RLock()
        # Set when the test is done with the fake: scripted delays stop waiting.
        self._closing = threading.Event()
        self._threads: set[threading.Thread] = set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count the current thread as answering a request until the block ends."""
        with self._lock:
            self._threads.add(threading.current_thread())
        try:
            yield
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def wait_for_answers(self, timeout: float) -> None:
        """Wait (up to ``timeout`` each) for the threads still answering requests."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=timeout)

    def serve(self, server: HTTPServer) -> None:
        """Answer requests on ``server`` from a daemon thread until ``close``."""
        self._server = server
        self._serve_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._serve_thread.start()

    @property
    def server_port(self) -> int:
        """The port the server listens on (the OS picked it when the server was bound to 0)."""
        assert self._server is not None, "the fake is not serving"
        return int(self._server.server_address[1])

    def close(self) -> None:
        """Stop serving and free the port; a fake with requests still hanging wakes them first."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._serve_thread is not None:
            self._serve_thread.join()
            self._serve_thread = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving: scripted delays end, and requests still hanging are waited for."""
        self._closing.set()
        self.shut_down()

    def shut_down(self) -> None:
        """What leaving ``with`` does once the fake is closing."""
        self.close()
        self.wait_for_answers(timeout=5)


class FakeHandler(BaseHTTPRequestHandler):
    """Hands every method to the fake's ``_handle`` and logs nothing (a fake keeps its own
    ``requests_log``)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real services do
    server: FakeHTTPServer

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_PUT = do_DELETE = do_POST = do_PATCH = do_GET

    def logged(self) -> LoggedRequest:
        """Read the request's body and add the request to the fake's ``requests_log``."""
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length and length.isdigit() else b""
        request = LoggedRequest(
            self.command, self.path, CaseInsensitiveDict(dict(self.headers.items())), body
        )
        fake = self.server.fake
        with fake._lock:
            fake.requests_log.append(request)
        return request

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's ``requests_log`` records every request."""


class FakeHTTPServer(ThreadingHTTPServer):
    """A fake's server: a daemon thread per connection, each known to the fake while it runs."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, fake: Any) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.fake.answering():
            super().process_request_thread(request, client_address)
