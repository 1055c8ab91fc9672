"""A per-test registry of the secrets a test created, and the scan that finds them in logs.

Builders, fixtures and fakes ``register`` every secret they make or are given; the autouse
``no_secret_in_logs`` fixture (tests/conftest.py) fails a test when any registered value
shows up in a log record it emitted, or in the captured output of a process it started.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# Shorter values ("x", "pw") would be found inside ordinary words; no real secret is this short.
MIN_LENGTH = 6

# Our own token formats (services.platform.secrets.generate_token), by prefix.
TOKEN_KINDS = {
    "scim_": "SCIM bearer token",
    "okhs_": "event-hook secret",
    "enr_": "enrollment token",
    "setup_": "setup token",
}
_OUR_TOKEN = re.compile(r"\b(?:scim|okhs|enr|setup)_[A-Za-z0-9_-]{30,}")
_ENROLLMENT_LINK = re.compile(r"/enroll/(enr_[A-Za-z0-9_-]{30,})")


@dataclass
class Registry:
    """The secrets of the running test, and the outputs of the processes it started."""

    secrets: dict[str, str] = field(default_factory=dict)  # value → kind
    outputs: list[tuple[str, Callable[[], str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_current = Registry()


def reset() -> Registry:
    """Start an empty registry for the next test."""
    global _current
    _current = Registry()
    return _current


def register(kind: str, value: str | None) -> None:
    """Remember ``value`` as a secret of ``kind`` that no log may show."""
    if not value or len(value) < MIN_LENGTH:
        return
    with _current.lock:
        _current.secrets.setdefault(value, kind)
        if kind.endswith("private key"):
            # A PEM's lines are what a truncated or reflowed log line would show.
            for line in value.strip().splitlines()[1:-1]:
                _current.secrets.setdefault(line, kind)


def register_token(token: str) -> None:
    """Remember one of our own tokens, its kind told by its prefix."""
    for prefix, kind in TOKEN_KINDS.items():
        if token.startswith(prefix):
            # The random part is the secret; a log that drops the prefix still leaks it.
            register(kind, token.removeprefix(prefix))
            return
    register("generated token", token)


def register_tokens_in(text: str) -> None:
    """Remember every token of ours that ``text`` (a command's output, an email) shows."""
    for token in _OUR_TOKEN.findall(text):
        register_token(token)
    for token in _ENROLLMENT_LINK.findall(text):
        register_token(token)


def watch_output(name: str, read: Callable[[], str]) -> None:
    """Scan what ``read()`` returns when the test ends (a subprocess's captured stderr)."""
    with _current.lock:
        _current.outputs.append((name, read))


def find(text: str, secrets: dict[str, str]) -> list[str]:
    """The kinds of the secrets that occur in ``text``."""
    return [kind for value, kind in secrets.items() if value in text]


class LeakCatcher(logging.Handler):
    """Keeps, for each record that reaches a handler, the kinds of registered secret it shows.

    It sees a record after the filters the service installs on every handler (as the
    service's own stderr handler would) and checks the message, the arguments, the traceback
    and the stack, unredacted by any formatter.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record; it is checked when the test ends, once every secret is known."""
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        self.records.append(record)

    def leaks(self, secrets: dict[str, str]) -> list[str]:
        """One line per record that shows a secret: the kinds and the logger."""
        found = []
        for record in self.records:
            try:
                message = record.getMessage()
            except Exception:  # a record that cannot format still has its parts
                message = str(record.msg)
            text = "\n".join(
                (message, repr(record.args), record.exc_text or "", record.stack_info or "")
            )
            kinds = find(text, secrets)
            if kinds:
                found.append(
                    f"{', '.join(sorted(set(kinds)))} in a record of logger {record.name!r}"
                )
        return found


def output_leaks(
    outputs: Iterable[tuple[str, Callable[[], str]]], secrets: dict[str, str]
) -> list[str]:
    """One line per captured process output that shows a secret."""
    found = []
    for name, read in outputs:
        kinds = find(read(), secrets)
        if kinds:
            found.append(f"{', '.join(sorted(set(kinds)))} in the output of {name}")
    return found
