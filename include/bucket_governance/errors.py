"""Errors a user can see: each has a stable code, a sentence, and the CLI exit code it maps to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_DENIED_OR_FOUND = 1  # a request was denied or a check found problems
EXIT_BAD_INPUT = 2  # bad usage or bad input


class GovernanceError(Exception):
    """Base of errors meant for users: ``code`` is stable, ``message`` says what and how to fix."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInputError(GovernanceError):
    """The caller gave something malformed (a file, a JSON value, an option)."""


class PolicyError(GovernanceError):
    """A policy file is missing or invalid; the message names the file, the field and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__("policy_invalid", message)


class NotFoundError(GovernanceError):
    exit_code = EXIT_DENIED_OR_FOUND


class RequestDeniedError(GovernanceError):
    """The gate refused a request (it is recorded in the ledger all the same)."""

    exit_code = EXIT_DENIED_OR_FOUND

    def __init__(self, code: str, message: str, *, seq: int | None = None) -> None:
        super().__init__(code, message)
        self.seq = seq
