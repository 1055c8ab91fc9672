"""Real processes and sockets for tests: gunicorn serving the app, worker processes, a
throwaway Postgres cluster that can be stopped, and a TCP gate that makes a local server
unreachable and reachable again."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from testkit import leaks
from tests.conftest import TEST_ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment the service's processes need to share the test's database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-service-secret-key-" + "x" * 32,
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "LOG_LEVEL": "WARNING",
        "RUN_WORKER_IN_PROCESS": "0",
        # Tests that are not about rate limits must not hit them.
        "SCIM_RATE_LIMIT": "100000 per minute",
        **settings,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a ``flask --app app worker`` process and return once it is working."""
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    output: list[bytes] = []
    for line in process.stderr:
        output.append(line)
        if b"running" in line:
            break
    # Keep draining its output so the pipe never blocks it; close it when the process ends.
    # What it wrote is checked for secrets when the test ends.
    threading.Thread(target=_drain, args=(process.stderr, output), daemon=True).start()
    leaks.watch_output(
        f"worker process {process.pid}", lambda: b"".join(output).decode(errors="replace")
    )
    return process


def _drain(stream: Any, output: list[bytes]) -> None:
    with stream:
        for line in stream:
            output.append(line)


def flask(env: dict[str, str], *args: str) -> str:
    """Run a ``flask --app app`` command; its stdout."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # A command that printed a new token or hook secret made a secret the test now holds.
    leaks.register_tokens_in(result.stdout)
    leaks.watch_output(f"flask {' '.join(args)}", lambda: result.stderr)
    return result.stdout.strip()


class Gunicorn:
    """gunicorn serving ``app:create_app()`` in ``env``; its stdout and stderr go to files."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 2,
        threads: int = 1,
        timeout: int = 30,
        args: tuple[str, ...] = (),
        logs: Path | None = None,
    ) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = None if logs else tempfile.TemporaryDirectory(prefix="gunicorn-")
        self.logs = logs or Path(self._tmp.name if self._tmp else ".")
        self.stdout_path = self.logs / "gunicorn.out"
        self.stderr_path = self.logs / "gunicorn.err"
        self.command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            str(timeout),
            "--graceful-timeout",
            "5",
            "--bind",
            f"127.0.0.1:{self.port}",
            *args,
            "app:create_app()",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=err
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not start:\n{self.output()}")

    def stop(self) -> None:
        """Stop gunicorn gracefully (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        # Checked for secrets when the test ends; read now, before the files go.
        written = self.output(limit=None)
        leaks.watch_output(f"gunicorn on port {self.port}", lambda: written)
        if self._tmp is not None:
            self._tmp.cleanup()

    def output(self, limit: int | None = 5000) -> str:
        """What gunicorn and the app wrote so far (the last ``limit`` characters)."""
        text = ""
        for path in (self.stderr_path, self.stdout_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return text if limit is None else text[-limit:]

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers."""
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]


class PrivatePostgres:
    """A throwaway Postgres cluster on its own port, to stop and start at will.

    The shared server on 5432 serves other people's tests and must never be stopped. As
    root, the cluster's programs run as the ``postgres`` user, who owns its directory.
    """

    def __init__(self) -> None:
        missing = [p for p in ("initdb", "pg_ctl") if not (PG_BIN / p).exists()]
        if missing:
            raise RuntimeError(
                f"the Postgres server programs ({', '.join(missing)}) are not in {PG_BIN}: "
                "install the postgresql-15 package to run the database-outage tests"
            )
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="scim-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/scim_faults"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def __enter__(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )
        self.start()
        psql = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q"]
        subprocess.run(
            [*psql, "-c", "CREATE DATABASE scim_faults"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as if it crashed, no clean shutdown)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pg_ctl = str(PG_BIN / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Gate:
    """A TCP port in front of a local server: open, it forwards every connection to the
    server; closed, it refuses new connections and cuts the open ones."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        """Accept and forward connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        """Refuse connections (the port is closed) and cut the ones in progress."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._connections -= {source, sink}

    def __enter__(self) -> Gate:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
