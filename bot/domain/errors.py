"""Errors raised when a request breaks a programme rule."""


class DomainError(Exception):
    """A request that breaks a rule; the message is one plain sentence for staff."""


class NotFound(DomainError):
    """Something named in the request does not exist."""


class Conflict(DomainError):
    """The request clashes with what is already recorded."""


class InvalidInput(DomainError):
    """The request itself is malformed (bad date, number out of range, ...)."""
