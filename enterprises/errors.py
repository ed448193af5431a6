"""Errors the SME domain raises; the API and the forms turn them into 4xx answers."""


class EnterpriseError(Exception):
    """``errors`` maps field names to messages; ``status`` is the HTTP status it deserves."""

    status = 422

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if status is not None:
            self.status = status
