"""Domain errors raised by services; each blueprint maps them to its own error format."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request that cannot be carried out, with a message for the caller."""


class NotFoundError(ServiceError):
    """The named object does not exist."""


class ConflictError(ServiceError):
    """The object already exists or the change conflicts with current state."""


class ValidationError(ServiceError):
    """The input is invalid; the message says what to change."""
