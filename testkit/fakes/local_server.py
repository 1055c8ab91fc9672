"""The part every fake server shares: an HTTP server on 127.0.0.1 served from a thread of its
own, and stopped so that no request or thread outlives the test."""

from __future__ import annotations

import threading
from http.server import HTTPServer
from types import TracebackType


class LocalServer:
    """Base of the fakes: ``serve`` starts a server, ``close`` (and leaving ``with``) stops it."""

    def __init__(self) -> None:
        self._server: HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

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
        """Stop serving."""
        self.close()
