"""Errors the product domain raises; the API turns them into 4xx answers."""


class ProductError(Exception):
    """A request about a product that cannot be carried out. ``errors`` maps field names to messages."""

    status = 422

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class DuplicateCode(ProductError):
    status = 409


class ProductWithdrawn(ProductError):
    status = 409
