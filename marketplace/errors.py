"""Domain errors raised by services; one handler maps them to HTTP responses."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str = "", errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(DomainError):
    """The input breaks a rule; `errors` maps field names to messages."""

    status_code = 400


class NotAuthorized(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class InvalidTransition(DomainError):
    """The action is not allowed in the object's current state."""

    status_code = 409
